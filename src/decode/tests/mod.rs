//! Tests of the decoder on real frames cut from the corpus captures, crafted frames for link
//! types the corpus lacks, fragment reassembly, and a whole-corpus run.
mod corpus;
