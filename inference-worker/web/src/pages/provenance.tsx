// A model's provenance as a graph: the model, the datanet snapshots it was trained on (each a
// Merkle root) and the contributions in them, read from the chain; an adapter's base first.
import { useApp } from '../app';
import { displayAddress, rpc } from '../lib/chain';
import type { Contribution, Model, Snapshot } from '../lib/types';
import { Loaded, useLoad } from '../ui';

interface Graph {
  snapshots: Snapshot[];
  contributions: Contribution[];
}

export function Provenance({ model }: { model: Model }) {
  const { chain } = useApp();
  const graph = useLoad<Graph>(async () => {
    const snaps = await Promise.all(model.trainedOn.map(([d, v]) => rpc<Snapshot | null>(chain, 'datanets_getSnapshot', [d, v])));
    const snapshots = snaps.filter((s): s is Snapshot => s !== null);
    const ids = [...new Set(snapshots.flatMap((s) => s.members))].slice(0, 60);
    const contributions = (await Promise.all(ids.map((i) => rpc<Contribution | null>(chain, 'datanets_getContribution', [i])))).filter((c): c is Contribution => c !== null);
    return { snapshots, contributions };
  }, [chain, model.id]);
  return (
    <Loaded state={graph}>
      {({ snapshots, contributions }) => {
        if (snapshots.length === 0) return <p className="muted">Trained on no registered snapshot: nothing to attribute to.</p>;
        const rows = Math.max(snapshots.length, contributions.length, 1);
        const H = 40 + rows * 34;
        const W = 620;
        const col = [20, 220, 420];
        const y = (i: number, n: number) => 20 + ((i + 0.5) * (H - 40)) / n;
        const my = H / 2;
        return (
          <figure className="graph" data-testid="provenance">
            <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Model ${model.id} was trained on ${snapshots.length} snapshot(s) holding ${contributions.length} contribution(s)`}>
              {snapshots.map((_, i) => (
                <line key={`m${i}`} x1={col[0] + 150} y1={my} x2={col[1]} y2={y(i, snapshots.length)} className="edge" />
              ))}
              {snapshots.map((s, i) =>
                s.members.map((c) => {
                  const j = contributions.findIndex((x) => x.id === c);
                  return j < 0 ? null : <line key={`s${i}c${c}`} x1={col[1] + 170} y1={y(i, snapshots.length)} x2={col[2]} y2={y(j, contributions.length)} className="edge" />;
                }),
              )}
              <g>
                <rect x={col[0]} y={my - 14} width={150} height={28} rx={6} className="node model" />
                <text x={col[0] + 75} y={my + 4} textAnchor="middle">
                  Model {model.id}
                </text>
              </g>
              {snapshots.map((s, i) => (
                <g key={`sn${i}`}>
                  <rect x={col[1]} y={y(i, snapshots.length) - 14} width={170} height={28} rx={6} className="node snapshot" />
                  <text x={col[1] + 85} y={y(i, snapshots.length) + 4} textAnchor="middle">
                    <title>{`Merkle root ${s.root}`}</title>
                    Datanet {s.datanet} v{s.version} · {s.root.slice(0, 8)}…
                  </text>
                </g>
              ))}
              {contributions.map((c, j) => (
                <g key={`c${c.id}`}>
                  <rect x={col[2]} y={y(j, contributions.length) - 14} width={180} height={28} rx={6} className="node contribution" />
                  <text x={col[2] + 90} y={y(j, contributions.length) + 4} textAnchor="middle">
                    <title>{`content hash ${c.contentHash}, contributor ${c.contributor}`}</title>
                    #{c.id} · {displayAddress(c.contributor).slice(0, 6)}… · {c.byteSize} B
                  </text>
                </g>
              ))}
            </svg>
            <figcaption>
              Model {model.id} ← {snapshots.map((s) => `datanet ${s.datanet} v${s.version} (root ${s.root})`).join(', ')} ← contributions {contributions.map((c) => `#${c.id}`).join(', ') || 'none'}
            </figcaption>
          </figure>
        );
      }}
    </Loaded>
  );
}
