//! Correlation of observations into tracker contacts, e-mail opens and address leaks.
