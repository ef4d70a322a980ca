//! Rewards: commission, then pro rata to points, paid on claim and on every stake change.

use super::*;
use provena_primitives::agents::AgentRewards;

fn claim(who: AccountId) {
    assert_ok!(AgentsPallet::claim_rewards(RuntimeOrigin::signed(who), AGENT));
}

#[test]
fn commission_then_pro_rata_to_stake() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        delegate(ALICE, 1_000);
        delegate(BOB, 2_000);
        let before = [AGENT, ALICE, BOB].map(Balances::free_balance);
        reward(1_000);
        // 10% commission to the agent at once; 900 shared by 4,000 of stake.
        assert_eq!(Balances::free_balance(AGENT), before[0] + 100);
        assert_eq!(Balances::free_balance(PAYER), INITIAL - 1_000);
        assert_eq!(
            agent_events().last(),
            Some(&Event::Rewarded { agent: AGENT, commission: 100, shared: 900 })
        );
        for who in [AGENT, ALICE, BOB] {
            claim(who);
        }
        assert_eq!(Balances::free_balance(AGENT), before[0] + 100 + 225);
        assert_eq!(Balances::free_balance(ALICE), before[1] + 225);
        assert_eq!(Balances::free_balance(BOB), before[2] + 450);
        assert_eq!(agent_of(AGENT).rewards_unpaid, 0);
        assert_eq!(
            agent_events().last(),
            Some(&Event::RewardsPaid { agent: AGENT, member: BOB, amount: 450 })
        );
        // Claiming again pays nothing.
        claim(BOB);
        assert_eq!(Balances::free_balance(BOB), before[2] + 450);
    });
}

#[test]
fn a_stake_change_pays_first_and_latecomers_earn_only_later_rewards() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        delegate(ALICE, 1_000);
        reward(2_000); // 200 commission, 900 each
        let alice = Balances::free_balance(ALICE);
        // Alice adds stake: her 900 is paid first, at the old share.
        delegate(ALICE, 2_000);
        assert_eq!(Balances::free_balance(ALICE), alice + 900 - 2_000);
        // Bob joins after the reward: nothing of it is his.
        delegate(BOB, 1_000);
        let bob = Balances::free_balance(BOB);
        claim(BOB);
        assert_eq!(Balances::free_balance(BOB), bob);
        // Now 1,000 / 3,000 / 1,000: 2,000 − 200 shared 360 / 1,080 / 360.
        reward(2_000);
        let before = [AGENT, ALICE, BOB].map(Balances::free_balance);
        for who in [AGENT, ALICE, BOB] {
            claim(who);
        }
        assert_eq!(Balances::free_balance(AGENT), before[0] + 360 + 900);
        assert_eq!(Balances::free_balance(ALICE), before[1] + 1_080);
        assert_eq!(Balances::free_balance(BOB), before[2] + 360);
    });
}

#[test]
fn unbonding_stake_earns_nothing() {
    ExtBuilder.build_and_execute(|| {
        register(1_000);
        delegate(ALICE, 1_000);
        assert_ok!(AgentsPallet::undelegate(RuntimeOrigin::signed(ALICE), AGENT, 1_000));
        let alice = Balances::free_balance(ALICE);
        reward(1_000);
        // The agent's 1,000 is the only active stake: all 900 are its own.
        let agent = Balances::free_balance(AGENT);
        claim(AGENT);
        assert_eq!(Balances::free_balance(AGENT), agent + 900);
        assert_noop!(
            AgentsPallet::claim_rewards(RuntimeOrigin::signed(EVE), AGENT),
            Error::<Test>::NotMember
        );
        run_to_era(3);
        assert_ok!(AgentsPallet::withdraw_unbonded(RuntimeOrigin::signed(ALICE), AGENT, ALICE));
        assert_eq!(Balances::free_balance(ALICE), alice + 1_000);
    });
}

#[test]
fn with_no_stake_the_whole_reward_is_the_agents_and_strangers_get_none() {
    ExtBuilder.build_and_execute(|| {
        assert_noop!(
            <AgentsPallet as AgentRewards<_>>::reward(&AGENT, &PAYER, 10),
            Error::<Test>::NotAgent
        );
        register(1_000);
        assert_ok!(AgentsPallet::chill(RuntimeOrigin::signed(AGENT)));
        assert_ok!(AgentsPallet::unbond(RuntimeOrigin::signed(AGENT), 1_000));
        let agent = Balances::free_balance(AGENT);
        reward(1_000);
        assert_eq!(Balances::free_balance(AGENT), agent + 1_000);
        // Nothing is ever paid out of the payer's last existential deposit.
        let all = Balances::free_balance(PAYER);
        assert!(<AgentsPallet as AgentRewards<_>>::reward(&AGENT, &PAYER, all).is_err());
        // A zero reward is nothing.
        assert_ok!(<AgentsPallet as AgentRewards<_>>::reward(&AGENT, &PAYER, 0));
    });
}
