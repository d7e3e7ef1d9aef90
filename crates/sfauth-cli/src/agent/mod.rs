//! What `sfauth agent` and its clients share: where the socket is and who may use it
//! ([`socket`]), what goes over it ([`wire`]), and the client side that `token`, `header`,
//! `exec` and `request` use ([`client`]). The agent itself is `commands::agent`.

pub mod client;
pub mod socket;
pub mod wire;
