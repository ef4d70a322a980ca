//! # Provena attribution engine
//!
//! Traces a model's answer back to the datanet contributions it came from, with evidence anyone
//! can check: the contributions of a snapshot are tokenized with the serving model's tokenizer
//! into one token array with a suffix array ([`index`], the infini-gram approach), the answer's
//! maximal matching spans are found ([`Index::maximal_spans`], the OLMoTrace approach), and each
//! span's credit is split among the contributions holding it ([`attribute`]). The evidence is
//! hashed; the hash goes on chain with the receipt.

pub mod attribute;
pub mod corpus;
pub mod index;
pub mod minhash;
pub mod rag;
pub mod tokenizer;

pub use attribute::{attribute, Attribution, Params};
pub use index::{Document, Index};
pub use tokenizer::ModelTokenizer;
