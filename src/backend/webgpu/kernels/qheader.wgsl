// The packed header (qpacked.wgsl) read from the weight buffer itself.

// Word offset of the format's array number `a`.
fn q_off(a: u32) -> u32 {
  return q_word(a);
}

// Statistics groups per row (header word 15).
fn q_groups() -> u32 {
  return q_word(15u);
}
