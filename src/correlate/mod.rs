//! Correlation of observations: tracker contacts (with CNAME uncloaking and address → name
//! attribution); e-mail opens and address leaks build on it.

pub mod clients;
pub mod contacts;
pub mod encdns;
pub mod leaks;
pub mod opens;
