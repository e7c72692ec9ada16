;; f32 GEMM in the "NT" layout of the CPU backend's matmul kernel:
;;
;;   out[t, m] = Σ_k x[t, k] · w[m, k] (+ bias[m])
;;   out: [T, M] with row stride ldo (elements), x: [T, K], w: [M, K], bias: [M]
;;
;; Both operands are read along K, so a tile keeps one v128 accumulator per
;; output and sums 4 products of K per step (fp32 multiply, fp32 add). The main
;; tile is 2 rows of x by 4 rows of w: 8 accumulators, 6 loads per 8 multiply-adds.
;; The last odd row of x uses 1×4 tiles; the last M mod 4 columns use 1×1 tiles.
;; After the vector loop each accumulator is summed across lanes and the K mod 4
;; tail is added in scalar fp32, then the bias.
;;
;; Columns are processed in blocks of mb rows of w (a multiple of 4 chosen by the
;; host so that a block stays in L2) and, inside a block, every row pair of x.
;;
;; All pointers are byte addresses in the imported memory; bias = 0 means none
;; (the host never places data at address 0). The build assembles this file
;; twice: with the memory import as written (shared, for worker threads) and
;; with ";;SHARED" lines replaced by the unshared import (single thread without
;; SharedArrayBuffer).
(module
  (import "env" "memory" (memory 1 65536 shared)) ;;SHARED

  ;; Σ of the four lanes of v.
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Σ_{i<n} x[i]·w[i] in scalar fp32 (the K mod 4 tail).
  (func $tail (param $x i32) (param $w i32) (param $n i32) (result f32)
    (local $s f32)
    (block $done
      (loop $k
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (f32.add (local.get $s)
          (f32.mul (f32.load (local.get $x)) (f32.load (local.get $w)))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $w (i32.add (local.get $w) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $k)))
    (local.get $s))

  ;; *out = hsum(acc) + tail(x + k4, w + k4, n) + (bias ? *bias : 0); k4 is in bytes.
  (func $emit (param $out i32) (param $acc v128) (param $x i32) (param $w i32)
              (param $k4 i32) (param $n i32) (param $bias i32)
    (local $s f32)
    (local.set $s (f32.add (call $hsum (local.get $acc))
      (call $tail (i32.add (local.get $x) (local.get $k4)) (i32.add (local.get $w) (local.get $k4)) (local.get $n))))
    (if (local.get $bias)
      (then (local.set $s (f32.add (local.get $s) (f32.load (local.get $bias))))))
    (f32.store (local.get $out) (local.get $s)))

  ;; One output: out[0] = x·w over K (x, w: one row each).
  (func $tile1x1 (param $out i32) (param $x i32) (param $w i32) (param $K i32) (param $bias i32)
    (local $k i32) (local $k4 i32) (local $acc v128)
    (local.set $k4 (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $k
        (br_if $done (i32.ge_u (local.get $k) (local.get $k4)))
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $k)))
                     (v128.load (i32.add (local.get $w) (local.get $k))))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $k)))
    (call $emit (local.get $out) (local.get $acc) (local.get $x) (local.get $w)
      (local.get $k4) (i32.and (local.get $K) (i32.const 3)) (local.get $bias)))

  ;; out[0, 0..3] = x · w[0..3] (w rows are K·4 bytes apart).
  (func $tile1x4 (param $out i32) (param $x i32) (param $w i32) (param $K i32) (param $bias i32)
    (local $k i32) (local $k4 i32) (local $ks i32) (local $n i32)
    (local $w1 i32) (local $w2 i32) (local $w3 i32)
    (local $a v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local.set $ks (i32.shl (local.get $K) (i32.const 2)))
    (local.set $w1 (i32.add (local.get $w) (local.get $ks)))
    (local.set $w2 (i32.add (local.get $w1) (local.get $ks)))
    (local.set $w3 (i32.add (local.get $w2) (local.get $ks)))
    (local.set $k4 (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $k
        (br_if $done (i32.ge_u (local.get $k) (local.get $k4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $k))))
        (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $w) (local.get $k))))))
        (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $w1) (local.get $k))))))
        (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $w2) (local.get $k))))))
        (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $w3) (local.get $k))))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $k)))
    (local.set $n (i32.and (local.get $K) (i32.const 3)))
    (call $emit (local.get $out) (local.get $c0) (local.get $x) (local.get $w) (local.get $k4) (local.get $n) (local.get $bias))
    (call $emit (i32.add (local.get $out) (i32.const 4)) (local.get $c1) (local.get $x) (local.get $w1) (local.get $k4) (local.get $n)
      (select (i32.add (local.get $bias) (i32.const 4)) (i32.const 0) (local.get $bias)))
    (call $emit (i32.add (local.get $out) (i32.const 8)) (local.get $c2) (local.get $x) (local.get $w2) (local.get $k4) (local.get $n)
      (select (i32.add (local.get $bias) (i32.const 8)) (i32.const 0) (local.get $bias)))
    (call $emit (i32.add (local.get $out) (i32.const 12)) (local.get $c3) (local.get $x) (local.get $w3) (local.get $k4) (local.get $n)
      (select (i32.add (local.get $bias) (i32.const 12)) (i32.const 0) (local.get $bias))))

  ;; out[0..1, 0..3] = x[0..1] · w[0..3]; x rows are K·4 bytes apart, out rows ldo bytes apart.
  (func $tile2x4 (param $out i32) (param $x i32) (param $w i32) (param $K i32) (param $bias i32) (param $ldo i32)
    (local $k i32) (local $k4 i32) (local $ks i32) (local $n i32)
    (local $x1 i32) (local $w1 i32) (local $w2 i32) (local $w3 i32) (local $o1 i32)
    (local $a v128) (local $b v128) (local $v v128)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local.set $ks (i32.shl (local.get $K) (i32.const 2)))
    (local.set $x1 (i32.add (local.get $x) (local.get $ks)))
    (local.set $w1 (i32.add (local.get $w) (local.get $ks)))
    (local.set $w2 (i32.add (local.get $w1) (local.get $ks)))
    (local.set $w3 (i32.add (local.get $w2) (local.get $ks)))
    (local.set $k4 (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $k
        (br_if $done (i32.ge_u (local.get $k) (local.get $k4)))
        (local.set $a (v128.load (i32.add (local.get $x) (local.get $k))))
        (local.set $b (v128.load (i32.add (local.get $x1) (local.get $k))))
        (local.set $v (v128.load (i32.add (local.get $w) (local.get $k))))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $v))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $b) (local.get $v))))
        (local.set $v (v128.load (i32.add (local.get $w1) (local.get $k))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $v))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $b) (local.get $v))))
        (local.set $v (v128.load (i32.add (local.get $w2) (local.get $k))))
        (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $a) (local.get $v))))
        (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $b) (local.get $v))))
        (local.set $v (v128.load (i32.add (local.get $w3) (local.get $k))))
        (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $a) (local.get $v))))
        (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $b) (local.get $v))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $k)))
    (local.set $n (i32.and (local.get $K) (i32.const 3)))
    (local.set $o1 (i32.add (local.get $out) (local.get $ldo)))
    (call $emit (local.get $out) (local.get $c00) (local.get $x) (local.get $w) (local.get $k4) (local.get $n) (local.get $bias))
    (call $emit (local.get $o1) (local.get $c10) (local.get $x1) (local.get $w) (local.get $k4) (local.get $n) (local.get $bias))
    (if (local.get $bias) (then (local.set $bias (i32.add (local.get $bias) (i32.const 4)))))
    (call $emit (i32.add (local.get $out) (i32.const 4)) (local.get $c01) (local.get $x) (local.get $w1) (local.get $k4) (local.get $n) (local.get $bias))
    (call $emit (i32.add (local.get $o1) (i32.const 4)) (local.get $c11) (local.get $x1) (local.get $w1) (local.get $k4) (local.get $n) (local.get $bias))
    (if (local.get $bias) (then (local.set $bias (i32.add (local.get $bias) (i32.const 4)))))
    (call $emit (i32.add (local.get $out) (i32.const 8)) (local.get $c02) (local.get $x) (local.get $w2) (local.get $k4) (local.get $n) (local.get $bias))
    (call $emit (i32.add (local.get $o1) (i32.const 8)) (local.get $c12) (local.get $x1) (local.get $w2) (local.get $k4) (local.get $n) (local.get $bias))
    (if (local.get $bias) (then (local.set $bias (i32.add (local.get $bias) (i32.const 4)))))
    (call $emit (i32.add (local.get $out) (i32.const 12)) (local.get $c03) (local.get $x) (local.get $w3) (local.get $k4) (local.get $n) (local.get $bias))
    (call $emit (i32.add (local.get $o1) (i32.const 12)) (local.get $c13) (local.get $x1) (local.get $w3) (local.get $k4) (local.get $n) (local.get $bias)))

  ;; The whole product; see the top of the file. ldo is the out row stride in elements,
  ;; mb the column block (rows of w per block, a multiple of 4, ≥ 4).
  (func $gemm (export "gemm") (param $out i32) (param $x i32) (param $w i32) (param $bias i32)
                        (param $T i32) (param $K i32) (param $M i32) (param $ldo i32) (param $mb i32)
    (local $ks i32) (local $ldb i32) (local $m0 i32) (local $mEnd i32) (local $mEnd4 i32)
    (local $t i32) (local $m i32) (local $xr i32) (local $or i32)
    (local.set $ks (i32.shl (local.get $K) (i32.const 2)))
    (local.set $ldb (i32.shl (local.get $ldo) (i32.const 2)))
    (block $blocksDone
      (loop $block
        (br_if $blocksDone (i32.ge_u (local.get $m0) (local.get $M)))
        (local.set $mEnd (i32.add (local.get $m0) (local.get $mb)))
        (if (i32.gt_u (local.get $mEnd) (local.get $M)) (then (local.set $mEnd (local.get $M))))
        (local.set $mEnd4 (i32.add (local.get $m0)
          (i32.and (i32.sub (local.get $mEnd) (local.get $m0)) (i32.const -4))))
        ;; row pairs of x
        (local.set $t (i32.const 0))
        (block $pairsDone
          (loop $pair
            (br_if $pairsDone (i32.gt_u (i32.add (local.get $t) (i32.const 2)) (local.get $T)))
            (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $t) (local.get $ks))))
            (local.set $or (i32.add (local.get $out) (i32.mul (local.get $t) (local.get $ldb))))
            (local.set $m (local.get $m0))
            (block $quadsDone
              (loop $quad
                (br_if $quadsDone (i32.ge_u (local.get $m) (local.get $mEnd4)))
                (call $tile2x4
                  (i32.add (local.get $or) (i32.shl (local.get $m) (i32.const 2)))
                  (local.get $xr)
                  (i32.add (local.get $w) (i32.mul (local.get $m) (local.get $ks)))
                  (local.get $K)
                  (if (result i32) (local.get $bias)
                    (then (i32.add (local.get $bias) (i32.shl (local.get $m) (i32.const 2))))
                    (else (i32.const 0)))
                  (local.get $ldb))
                (local.set $m (i32.add (local.get $m) (i32.const 4)))
                (br $quad)))
            (block $colsDone
              (loop $col
                (br_if $colsDone (i32.ge_u (local.get $m) (local.get $mEnd)))
                (call $tile1x1
                  (i32.add (local.get $or) (i32.shl (local.get $m) (i32.const 2)))
                  (local.get $xr)
                  (i32.add (local.get $w) (i32.mul (local.get $m) (local.get $ks)))
                  (local.get $K)
                  (if (result i32) (local.get $bias)
                    (then (i32.add (local.get $bias) (i32.shl (local.get $m) (i32.const 2))))
                    (else (i32.const 0))))
                (call $tile1x1
                  (i32.add (i32.add (local.get $or) (local.get $ldb)) (i32.shl (local.get $m) (i32.const 2)))
                  (i32.add (local.get $xr) (local.get $ks))
                  (i32.add (local.get $w) (i32.mul (local.get $m) (local.get $ks)))
                  (local.get $K)
                  (if (result i32) (local.get $bias)
                    (then (i32.add (local.get $bias) (i32.shl (local.get $m) (i32.const 2))))
                    (else (i32.const 0))))
                (local.set $m (i32.add (local.get $m) (i32.const 1)))
                (br $col)))
            (local.set $t (i32.add (local.get $t) (i32.const 2)))
            (br $pair)))
        ;; the last row when T is odd
        (if (i32.lt_u (local.get $t) (local.get $T))
          (then
            (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $t) (local.get $ks))))
            (local.set $or (i32.add (local.get $out) (i32.mul (local.get $t) (local.get $ldb))))
            (local.set $m (local.get $m0))
            (block $quadsDone
              (loop $quad
                (br_if $quadsDone (i32.ge_u (local.get $m) (local.get $mEnd4)))
                (call $tile1x4
                  (i32.add (local.get $or) (i32.shl (local.get $m) (i32.const 2)))
                  (local.get $xr)
                  (i32.add (local.get $w) (i32.mul (local.get $m) (local.get $ks)))
                  (local.get $K)
                  (if (result i32) (local.get $bias)
                    (then (i32.add (local.get $bias) (i32.shl (local.get $m) (i32.const 2))))
                    (else (i32.const 0))))
                (local.set $m (i32.add (local.get $m) (i32.const 4)))
                (br $quad)))
            (block $colsDone
              (loop $col
                (br_if $colsDone (i32.ge_u (local.get $m) (local.get $mEnd)))
                (call $tile1x1
                  (i32.add (local.get $or) (i32.shl (local.get $m) (i32.const 2)))
                  (local.get $xr)
                  (i32.add (local.get $w) (i32.mul (local.get $m) (local.get $ks)))
                  (local.get $K)
                  (if (result i32) (local.get $bias)
                    (then (i32.add (local.get $bias) (i32.shl (local.get $m) (i32.const 2))))
                    (else (i32.const 0))))
                (local.set $m (i32.add (local.get $m) (i32.const 1)))
                (br $col)))))
        (local.set $m0 (local.get $mEnd))
        (br $block))))

  ;; ---- Packed int weights (2, 3, 4 or 8 bits): decode a tile of rows, then gemm on it ----
  ;;
  ;; codes: rows of K codes bit-packed little-endian (formats/bytes.ts; K a multiple of 32, so a
  ;; row is K·bits/8 bytes); stats: one u32 per (row, group), fp16 scale | fp16 zero << 16, groups
  ;; of cpg whole 32-code chunks. Ŵ = f32(scale · (code − zero)): code − zero is exact in f32, so
  ;; one rounding, the same value as the CPU reference.

  ;; fp16 bits (low half of h) → f32, exact for every finite value (subnormals included):
  ;; the exponent and mantissa moved into an f32's, scaled by 2^112, the sign put back.
  (func $f16 (param $h i32) (result f32)
    (f32.mul
      (f32.reinterpret_i32 (i32.or
        (i32.shl (i32.and (local.get $h) (i32.const 0x8000)) (i32.const 16))
        (i32.shl (i32.and (local.get $h) (i32.const 0x7fff)) (i32.const 13))))
      (f32.const 0x1p112)))

  ;; dst[0 … 15] = s·(code − z) for the 16 u8 codes of v.
  (func $emit16 (param $dst i32) (param $v v128) (param $s v128) (param $z v128)
    (local $lo v128) (local $hi v128)
    (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
    (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
    (v128.store offset=0 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub
      (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_u (local.get $lo))) (local.get $z))))
    (v128.store offset=16 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub
      (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_u (local.get $lo))) (local.get $z))))
    (v128.store offset=32 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub
      (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_u (local.get $hi))) (local.get $z))))
    (v128.store offset=48 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub
      (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_u (local.get $hi))) (local.get $z)))))

  ;; The 32 codes of one chunk at c (bits·4 bytes) into dst (32 f32). At 2, 3 and 4 bits lane-major:
  ;; the chunk's bytes spread so that 32-bit lane l holds codes 8l … 8l + 7 (bits b·k up), code 8l + k
  ;; goes to dst[4k + l] (a shift and an and a vector, no widening), and the host gathers x in the
  ;; same order; at 8 bits in natural order (byte widening beats eight shifts). Codes 0 … 15 take the statistics (s0, z0), codes 16 … 31 (s1, z1) (SpQR's
  ;; 16-column groups; an int group spans whole chunks: both pairs the same).
  ;; Each width is written out (here and in $cdot) so that every shift count is a constant: one
  ;; generic body (lanes built by a helper, shifts by the local bits) took one token through
  ;; 4096 × 11008 from 4.2–5.5 to 5.5–8.0 ms at 2/3/4 bits and SpQR's from 7.0 to 8.1–8.6
  ;; (2 threads, 2026-12-05; V8 in Node 20 inlines no wasm calls).
  (func $chunk (param $dst i32) (param $c i32) (param $bits i32) (param $s0 v128) (param $z0 v128) (param $s1 v128) (param $z1 v128)
    (local $v v128) (local $a v128) (local $b v128) (local $m v128) (local $s v128) (local $z v128)
    (if (i32.eq (local.get $bits) (i32.const 3))
      (then
        ;; lanes 0, 1 hold codes 0 … 15, lanes 2, 3 codes 16 … 31
        (local.set $s (i8x16.shuffle 0 1 2 3 4 5 6 7 24 25 26 27 28 29 30 31 (local.get $s0) (local.get $s1)))
        (local.set $z (i8x16.shuffle 0 1 2 3 4 5 6 7 24 25 26 27 28 29 30 31 (local.get $z0) (local.get $z1)))
        ;; 12 bytes (no load past them), three to a 32-bit lane: lane l holds codes 8l … 8l + 7
        (local.set $v (i8x16.shuffle 0 1 2 16 3 4 5 16 6 7 8 16 9 10 11 16
          (v128.load32_lane offset=8 2 (local.get $c) (v128.load64_zero (local.get $c)))
          (v128.const i32x4 0 0 0 0)))
        (local.set $m (i32x4.splat (i32.const 7)))
        (v128.store offset=0 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (local.get $v) (local.get $m))) (local.get $z))))
        (v128.store offset=16 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 3)) (local.get $m))) (local.get $z))))
        (v128.store offset=32 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 6)) (local.get $m))) (local.get $z))))
        (v128.store offset=48 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 9)) (local.get $m))) (local.get $z))))
        (v128.store offset=64 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 12)) (local.get $m))) (local.get $z))))
        (v128.store offset=80 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 15)) (local.get $m))) (local.get $z))))
        (v128.store offset=96 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 18)) (local.get $m))) (local.get $z))))
        (v128.store offset=112 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (i32x4.shr_u (local.get $v) (i32.const 21))) (local.get $z))))
        (return)))
    (if (i32.eq (local.get $bits) (i32.const 4))
      (then
        ;; 16 bytes, four to a 32-bit lane: lane l holds codes 8l … 8l + 7
        (local.set $s (i8x16.shuffle 0 1 2 3 4 5 6 7 24 25 26 27 28 29 30 31 (local.get $s0) (local.get $s1)))
        (local.set $z (i8x16.shuffle 0 1 2 3 4 5 6 7 24 25 26 27 28 29 30 31 (local.get $z0) (local.get $z1)))
        (local.set $v (v128.load (local.get $c)))
        (local.set $m (i32x4.splat (i32.const 15)))
        (v128.store offset=0 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (local.get $v) (local.get $m))) (local.get $z))))
        (v128.store offset=16 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 4)) (local.get $m))) (local.get $z))))
        (v128.store offset=32 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 8)) (local.get $m))) (local.get $z))))
        (v128.store offset=48 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 12)) (local.get $m))) (local.get $z))))
        (v128.store offset=64 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 16)) (local.get $m))) (local.get $z))))
        (v128.store offset=80 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 20)) (local.get $m))) (local.get $z))))
        (v128.store offset=96 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (v128.and (i32x4.shr_u (local.get $v) (i32.const 24)) (local.get $m))) (local.get $z))))
        (v128.store offset=112 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
          (i32x4.shr_u (local.get $v) (i32.const 28))) (local.get $z))))
        (return)))
    (if (i32.eq (local.get $bits) (i32.const 8))
      (then
        (call $emit16 (local.get $dst) (v128.load (local.get $c)) (local.get $s0) (local.get $z0))
        (call $emit16 (i32.add (local.get $dst) (i32.const 64)) (v128.load offset=16 (local.get $c)) (local.get $s1) (local.get $z1))
        (return)))
    ;; 2 bits: 8 bytes, two to a 32-bit lane: lane l holds codes 8l … 8l + 7
    (local.set $s (i8x16.shuffle 0 1 2 3 4 5 6 7 24 25 26 27 28 29 30 31 (local.get $s0) (local.get $s1)))
    (local.set $z (i8x16.shuffle 0 1 2 3 4 5 6 7 24 25 26 27 28 29 30 31 (local.get $z0) (local.get $z1)))
    (local.set $v (i8x16.shuffle 0 1 16 16 2 3 16 16 4 5 16 16 6 7 16 16 (v128.load64_zero (local.get $c)) (v128.const i32x4 0 0 0 0)))
    (local.set $m (i32x4.splat (i32.const 3)))
    (v128.store offset=0 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
      (v128.and (local.get $v) (local.get $m))) (local.get $z))))
    (v128.store offset=16 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
      (v128.and (i32x4.shr_u (local.get $v) (i32.const 2)) (local.get $m))) (local.get $z))))
    (v128.store offset=32 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
      (v128.and (i32x4.shr_u (local.get $v) (i32.const 4)) (local.get $m))) (local.get $z))))
    (v128.store offset=48 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
      (v128.and (i32x4.shr_u (local.get $v) (i32.const 6)) (local.get $m))) (local.get $z))))
    (v128.store offset=64 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
      (v128.and (i32x4.shr_u (local.get $v) (i32.const 8)) (local.get $m))) (local.get $z))))
    (v128.store offset=80 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
      (v128.and (i32x4.shr_u (local.get $v) (i32.const 10)) (local.get $m))) (local.get $z))))
    (v128.store offset=96 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
      (v128.and (i32x4.shr_u (local.get $v) (i32.const 12)) (local.get $m))) (local.get $z))))
    (v128.store offset=112 (local.get $dst) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.convert_i32x4_s
      (i32x4.shr_u (local.get $v) (i32.const 14))) (local.get $z)))))

  ;; Rows 0 … rows − 1 of Ŵ into dst ([rows, K] f32) from their codes and stats (see above).
  (func $qdeq (param $dst i32) (param $codes i32) (param $stats i32) (param $rows i32) (param $K i32)
              (param $bits i32) (param $nGroups i32) (param $cpg i32)
    (local $r i32) (local $g i32) (local $k i32) (local $st i32) (local $s v128) (local $z v128)
    (local $c i32) (local $cb i32)
    (local.set $cb (i32.shl (local.get $bits) (i32.const 2))) ;; bytes a chunk
    (local.set $c (local.get $codes))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $g (i32.const 0))
        (block $groupsDone
          (loop $group
            (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $nGroups)))
            (local.set $st (i32.load (local.get $stats)))
            (local.set $s (f32x4.splat (call $f16 (local.get $st))))
            (local.set $z (f32x4.splat (call $f16 (i32.shr_u (local.get $st) (i32.const 16)))))
            (local.set $k (i32.const 0))
            (block $chunksDone
              (loop $ch
                (br_if $chunksDone (i32.ge_u (local.get $k) (local.get $cpg)))
                (call $chunk (local.get $dst) (local.get $c) (local.get $bits) (local.get $s) (local.get $z) (local.get $s) (local.get $z))
                (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
                (local.set $c (i32.add (local.get $c) (local.get $cb)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $ch)))
            (local.set $stats (i32.add (local.get $stats) (i32.const 4)))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $group)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; ---- SpQR: bilevel statistics and CSR outliers ----
  ;;
  ;; spqr points at 8 u32s: sq, second, rowPtr, ents, nStat, β2, β1, 0. sq: [M, K/β1] u16, a
  ;; (row, group)'s scale code | zero code << 8; second: [K/β1, nStat] × f32 (scale's scale, scale's
  ;; zero, zero's scale, zero's zero) of rows' blocks of β2; rowPtr: [M + 1] u32, the CSR outliers'
  ;; row pointers; ents: one u32 an outlier, layout column | fp16 value << 16. β1 is 16 or whole
  ;; chunks. As the reference: s = f32(sS·f32(qs − sZ)), z likewise, Ŵ = f32(s·f32(q − z)), then at
  ;; each outlier Ŵ = f32(Ŵ + value).

  ;; f32(a·f32(q − b)) for the (a, b) pair at e (a first-level scale or zero from its code q).
  (func $deq2 (param $q i32) (param $e i32) (result f32)
    (f32.mul (f32.load (local.get $e)) (f32.sub (f32.convert_i32_u (local.get $q)) (f32.load offset=4 (local.get $e)))))

  ;; Rows row0 … row0 + rows − 1 of Ŵ into dst ([rows, K] f32) from their codes (at codes).
  (func $sdeq (param $dst i32) (param $codes i32) (param $spqr i32) (param $row0 i32) (param $rows i32)
              (param $K i32) (param $bits i32)
    (local $r i32) (local $row i32) (local $ch i32) (local $nch i32) (local $cb i32)
    (local $nG i32) (local $b1 i32) (local $nStat i32) (local $sq i32) (local $sec i32)
    (local $gstride i32) (local $left i32) (local $cpg i32)
    (local $s0 v128) (local $z0 v128) (local $s1 v128) (local $z1 v128)
    (local.set $cb (i32.shl (local.get $bits) (i32.const 2)))
    (local.set $nch (i32.shr_u (local.get $K) (i32.const 5)))
    (local.set $nStat (i32.load offset=16 (local.get $spqr)))
    (local.set $b1 (i32.load offset=24 (local.get $spqr)))
    (local.set $nG (i32.div_u (local.get $K) (local.get $b1)))
    (local.set $gstride (i32.shl (local.get $nStat) (i32.const 4))) ;; bytes from a group's second-level block to the next group's
    (local.set $cpg (select (i32.const 1) (i32.shr_u (local.get $b1) (i32.const 5)) (i32.eq (local.get $b1) (i32.const 16))))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.add (local.get $row0) (local.get $r)))
        (local.set $sq (i32.add (i32.load (local.get $spqr)) (i32.shl (i32.mul (local.get $row) (local.get $nG)) (i32.const 1))))
        ;; the row's (scale code, zero code) pairs and its block of second-level statistics, at group 0
        ;; (sq and sec then step a group at a time)
        (local.set $sec (i32.add (i32.load offset=4 (local.get $spqr))
          (i32.shl (i32.div_u (local.get $row) (i32.load offset=20 (local.get $spqr))) (i32.const 4))))
        (local.set $ch (i32.const 0))
        (local.set $left (i32.const 0))
        (block $chunksDone
          (loop $chunkLoop
            (br_if $chunksDone (i32.ge_u (local.get $ch) (local.get $nch)))
            ;; a new group: β1 = 16, every chunk (groups 2ch, 2ch + 1); else every β1/32 chunks
            (if (i32.eqz (local.get $left))
              (then
                (local.set $left (local.get $cpg))
                (call $sstat (i32.load16_u (local.get $sq)) (local.get $sec))
                (local.set $z0)
                (local.set $s0)
                (local.set $s1 (local.get $s0))
                (local.set $z1 (local.get $z0))
                (local.set $sq (i32.add (local.get $sq) (i32.const 2)))
                (local.set $sec (i32.add (local.get $sec) (local.get $gstride)))
                (if (i32.eq (local.get $b1) (i32.const 16))
                  (then
                    ;; the chunk's second half is the next group
                    (call $sstat (i32.load16_u (local.get $sq)) (local.get $sec))
                    (local.set $z1)
                    (local.set $s1)
                    (local.set $sq (i32.add (local.get $sq) (i32.const 2)))
                    (local.set $sec (i32.add (local.get $sec) (local.get $gstride)))))))
            (local.set $left (i32.sub (local.get $left) (i32.const 1)))
            (call $chunk (local.get $dst) (local.get $codes) (local.get $bits) (local.get $s0) (local.get $z0) (local.get $s1) (local.get $z1))
            (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
            (local.set $codes (i32.add (local.get $codes) (local.get $cb)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $chunkLoop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; The CSR outliers of rows row0 … row0 + rows − 1 added into their decoded tile dst ([rows, K],
  ;; columns in $chunk's order).
  (func $outliers (param $dst i32) (param $spqr i32) (param $row0 i32) (param $rows i32) (param $K i32) (param $bits i32)
    (local $rp i32) (local $ents i32) (local $r i32) (local $e i32) (local $end i32) (local $w i32) (local $col i32) (local $a i32)
    (local.set $rp (i32.add (i32.load offset=8 (local.get $spqr)) (i32.shl (local.get $row0) (i32.const 2))))
    (local.set $ents (i32.load offset=12 (local.get $spqr)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $e (i32.load (local.get $rp)))
        (local.set $end (i32.load offset=4 (local.get $rp)))
        (block $entsDone
          (loop $entLoop
            (br_if $entsDone (i32.ge_u (local.get $e) (local.get $end)))
            (local.set $w (i32.load (i32.add (local.get $ents) (i32.shl (local.get $e) (i32.const 2)))))
            (local.set $col (i32.and (local.get $w) (i32.const 0xffff)))
            (if (i32.lt_u (local.get $bits) (i32.const 8))
              (then ;; code 8l + k of a chunk sits at 4k + l
                (local.set $col (i32.or (i32.and (local.get $col) (i32.const -32))
                  (i32.or (i32.shl (i32.and (local.get $col) (i32.const 7)) (i32.const 2))
                    (i32.and (i32.shr_u (local.get $col) (i32.const 3)) (i32.const 3)))))))
            (local.set $a (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $K)) (local.get $col)) (i32.const 2))))
            (f32.store (local.get $a) (f32.add (f32.load (local.get $a)) (call $f16 (i32.shr_u (local.get $w) (i32.const 16)))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br $entLoop)))
        (local.set $rp (i32.add (local.get $rp) (i32.const 4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; ---- T = 1: codes dotted with x in registers, never stored ----
  ;;
  ;; One token reads each decoded weight once, so decoding a tile into scratch and reading it back
  ;; through gemm costs more than the product. Here every chunk's codes become f32 (exact) and meet
  ;; x at once, and the statistics are folded per group: Σ_k x·s·(q − z) = s·(Σ q·x − z·Σ x), with
  ;; each chunk's Σ x summed once per call ($xsums). Sums stay 4-lane v128 partials until a row's
  ;; end. Rounding differs from decode-then-gemm (same Ŵ, other order; nMSE ~1e-14 against the
  ;; dense product); SpQR's outliers are added as value·x[col].

  ;; acc + Σ_{i<16} f32(p.u8[i])·x[i] (x: 16 f32 at x).
  (func $dot16 (param $p v128) (param $x i32) (param $acc v128) (result v128)
    (local $lo v128) (local $hi v128)
    (local.set $lo (i16x8.extend_low_i8x16_u (local.get $p)))
    (local.set $hi (i16x8.extend_high_i8x16_u (local.get $p)))
    (f32x4.add
      (f32x4.add (local.get $acc)
        (f32x4.add
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_u (local.get $lo))) (v128.load offset=0 (local.get $x)))
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_u (local.get $lo))) (v128.load offset=16 (local.get $x)))))
      (f32x4.add
        (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_u (local.get $hi))) (v128.load offset=32 (local.get $x)))
        (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_u (local.get $hi))) (v128.load offset=48 (local.get $x))))))

  ;; (a + Σ_{i<4} q_i·x_i, b + Σ_{i≥4} q_i·x_i) for the chunk at c: q_i its codes 4i … 4i + 3 in
  ;; $chunk's order (below 8 bits, lane l of q_k is code 8l + k) as f32, x_i = x[4i … 4i + 3].
  (func $cdot (param $c i32) (param $bits i32) (param $x i32) (param $a v128) (param $b v128) (result v128 v128)
    (local $v v128) (local $lo v128) (local $hi v128) (local $m v128)
    (if (i32.eq (local.get $bits) (i32.const 4))
      (then
        (local.set $v (v128.load (local.get $c)))
        (local.set $m (i32x4.splat (i32.const 15)))
        (return
          (f32x4.add (local.get $a) (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (local.get $v) (local.get $m))) (v128.load offset=0 (local.get $x)))
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 4)) (local.get $m))) (v128.load offset=16 (local.get $x))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 8)) (local.get $m))) (v128.load offset=32 (local.get $x)))
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 12)) (local.get $m))) (v128.load offset=48 (local.get $x))))))
          (f32x4.add (local.get $b) (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 16)) (local.get $m))) (v128.load offset=64 (local.get $x)))
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 20)) (local.get $m))) (v128.load offset=80 (local.get $x))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 24)) (local.get $m))) (v128.load offset=96 (local.get $x)))
              (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (local.get $v) (i32.const 28))) (v128.load offset=112 (local.get $x)))))))))
    (if (i32.eq (local.get $bits) (i32.const 3))
      (then
        (local.set $v (i8x16.shuffle 0 1 2 16 3 4 5 16 6 7 8 16 9 10 11 16
          (v128.load32_lane offset=8 2 (local.get $c) (v128.load64_zero (local.get $c)))
          (v128.const i32x4 0 0 0 0)))
        (local.set $m (i32x4.splat (i32.const 7)))
        (return
          (f32x4.add (local.get $a) (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (local.get $v) (local.get $m))) (v128.load offset=0 (local.get $x)))
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 3)) (local.get $m))) (v128.load offset=16 (local.get $x))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 6)) (local.get $m))) (v128.load offset=32 (local.get $x)))
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 9)) (local.get $m))) (v128.load offset=48 (local.get $x))))))
          (f32x4.add (local.get $b) (f32x4.add
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 12)) (local.get $m))) (v128.load offset=64 (local.get $x)))
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 15)) (local.get $m))) (v128.load offset=80 (local.get $x))))
            (f32x4.add
              (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 18)) (local.get $m))) (v128.load offset=96 (local.get $x)))
              (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (local.get $v) (i32.const 21))) (v128.load offset=112 (local.get $x)))))))))
    (if (i32.eq (local.get $bits) (i32.const 8))
      (then
        (return
          (call $dot16 (v128.load (local.get $c)) (local.get $x) (local.get $a))
          (call $dot16 (v128.load offset=16 (local.get $c)) (i32.add (local.get $x) (i32.const 64)) (local.get $b)))))
    ;; 2 bits: lane-major as $chunk
    (local.set $v (i8x16.shuffle 0 1 16 16 2 3 16 16 4 5 16 16 6 7 16 16 (v128.load64_zero (local.get $c)) (v128.const i32x4 0 0 0 0)))
    (local.set $m (i32x4.splat (i32.const 3)))
    (f32x4.add (local.get $a) (f32x4.add
      (f32x4.add
        (f32x4.mul (f32x4.convert_i32x4_s (v128.and (local.get $v) (local.get $m))) (v128.load offset=0 (local.get $x)))
        (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 2)) (local.get $m))) (v128.load offset=16 (local.get $x))))
      (f32x4.add
        (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 4)) (local.get $m))) (v128.load offset=32 (local.get $x)))
        (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 6)) (local.get $m))) (v128.load offset=48 (local.get $x))))))
    (f32x4.add (local.get $b) (f32x4.add
      (f32x4.add
        (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 8)) (local.get $m))) (v128.load offset=64 (local.get $x)))
        (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 10)) (local.get $m))) (v128.load offset=80 (local.get $x))))
      (f32x4.add
        (f32x4.mul (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $v) (i32.const 12)) (local.get $m))) (v128.load offset=96 (local.get $x)))
        (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (local.get $v) (i32.const 14))) (v128.load offset=112 (local.get $x)))))))

  ;; xs[2ch] = Σ_{i<4} x_i, xs[2ch + 1] = Σ_{i≥4} x_i over chunk ch's 32 inputs (v128 partials, lanes
  ;; as $cdot's); then, when cpg > 0, gs[g] = Σ over group g's cpg chunks of both (gs after xs).
  (func $xsums (param $xs i32) (param $x i32) (param $K i32) (param $cpg i32)
    (local $n i32) (local $i i32) (local $p i32) (local $g i32) (local $acc v128)
    (local.set $n (i32.shr_u (local.get $K) (i32.const 5)))
    (local.set $p (local.get $xs))
    (block $done
      (loop $ch
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (v128.store (local.get $p) (f32x4.add
          (f32x4.add (v128.load offset=0 (local.get $x)) (v128.load offset=16 (local.get $x)))
          (f32x4.add (v128.load offset=32 (local.get $x)) (v128.load offset=48 (local.get $x)))))
        (v128.store offset=16 (local.get $p) (f32x4.add
          (f32x4.add (v128.load offset=64 (local.get $x)) (v128.load offset=80 (local.get $x)))
          (f32x4.add (v128.load offset=96 (local.get $x)) (v128.load offset=112 (local.get $x)))))
        (local.set $x (i32.add (local.get $x) (i32.const 128)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $ch)))
    (if (i32.eqz (local.get $cpg)) (then (return)))
    ;; p = gs; xs walks the chunks
    (local.set $i (i32.const 0))
    (block $done
      (loop $ch
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.add (v128.load (local.get $xs)) (v128.load offset=16 (local.get $xs)))))
        (local.set $xs (i32.add (local.get $xs) (i32.const 32)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (if (i32.eq (local.get $g) (local.get $cpg))
          (then
            (v128.store (local.get $p) (local.get $acc))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $g (i32.const 0))))
        (br $ch))))

  ;; out[m] = x·Ŵ[m] (+ bias[m]) for rows 0 … M − 1 of an int weight (T = 1; stats as $qdeq's);
  ;; scratch: K + 16·nGroups bytes for $xsums.
  (func $qgemv (param $out i32) (param $x i32) (param $codes i32) (param $stats i32) (param $bias i32)
               (param $K i32) (param $M i32) (param $bits i32) (param $nGroups i32) (param $cpg i32) (param $scratch i32)
    (local $r i32) (local $g i32) (local $k i32) (local $st i32) (local $cb i32) (local $gs i32) (local $gp i32)
    (local $xp i32) (local $a v128) (local $b v128) (local $acc v128) (local $s f32)
    (local.set $cb (i32.shl (local.get $bits) (i32.const 2)))
    (local.set $gs (i32.add (local.get $scratch) (local.get $K))) ;; xs: 32 bytes a chunk = K bytes
    (call $xsums (local.get $scratch) (local.get $x) (local.get $K) (local.get $cpg))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $M)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $xp (local.get $x))
        (local.set $gp (local.get $gs))
        (local.set $g (i32.const 0))
        (block $groupsDone
          (loop $group
            (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $nGroups)))
            (local.set $a (v128.const i32x4 0 0 0 0))
            (local.set $b (v128.const i32x4 0 0 0 0))
            (local.set $k (i32.const 0))
            (block $chunksDone
              (loop $ch
                (br_if $chunksDone (i32.ge_u (local.get $k) (local.get $cpg)))
                (call $cdot (local.get $codes) (local.get $bits) (local.get $xp) (local.get $a) (local.get $b))
                (local.set $b)
                (local.set $a)
                (local.set $codes (i32.add (local.get $codes) (local.get $cb)))
                (local.set $xp (i32.add (local.get $xp) (i32.const 128)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $ch)))
            ;; acc += s·(Σ q·x − z·Σ x)
            (local.set $st (i32.load (local.get $stats)))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.splat (call $f16 (local.get $st)))
              (f32x4.sub (f32x4.add (local.get $a) (local.get $b))
                (f32x4.mul (f32x4.splat (call $f16 (i32.shr_u (local.get $st) (i32.const 16)))) (v128.load (local.get $gp)))))))
            (local.set $stats (i32.add (local.get $stats) (i32.const 4)))
            (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $group)))
        (local.set $s (call $hsum (local.get $acc)))
        (if (local.get $bias)
          (then
            (local.set $s (f32.add (local.get $s) (f32.load (local.get $bias))))
            (local.set $bias (i32.add (local.get $bias) (i32.const 4)))))
        (f32.store (local.get $out) (local.get $s))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; (s, z) splats of a SpQR group from its (scale code | zero code << 8) pair p and its
  ;; second-level block at sec (scale's scale, scale's zero, zero's scale, zero's zero).
  (func $sstat (param $p i32) (param $sec i32) (result v128 v128)
    (f32x4.splat (call $deq2 (i32.and (local.get $p) (i32.const 255)) (local.get $sec)))
    (f32x4.splat (call $deq2 (i32.shr_u (local.get $p) (i32.const 8)) (i32.add (local.get $sec) (i32.const 8)))))

  ;; (s0, z0, s1, z1) of two consecutive SpQR groups at once: their code pairs at sq (bytes: scale
  ;; code, zero code, scale code, zero code), their second-level blocks at sec and sec + gstride
  ;; (each: scale's scale, scale's zero, zero's scale, zero's zero); each value f32(a·f32(q − b)), as $deq2.
  (func $sstat2 (param $sq i32) (param $sec i32) (param $gstride i32) (result v128)
    (local $u v128) (local $w v128)
    (local.set $u (v128.load (local.get $sec)))
    (local.set $w (v128.load (i32.add (local.get $sec) (local.get $gstride))))
    (f32x4.mul
      (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $u) (local.get $w))
      (f32x4.sub
        (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $sq)))))
        (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $u) (local.get $w)))))

  ;; out[m] = x·Ŵ[row0 + m] (+ bias[m]) for rows 0 … M − 1 here of a SpQR weight (T = 1; spqr as
  ;; $sdeq's); scratch: K + 16·K/β1 bytes for $xsums.
  (func $sgemv (param $out i32) (param $x i32) (param $codes i32) (param $spqr i32) (param $bias i32)
               (param $K i32) (param $M i32) (param $bits i32) (param $row0 i32) (param $scratch i32)
    (local $r i32) (local $row i32) (local $ch i32) (local $nch i32) (local $cb i32) (local $nG i32)
    (local $b1 i32) (local $gstride i32) (local $cpg i32) (local $sq i32) (local $sec i32) (local $k i32)
    (local $xp i32) (local $xsp i32) (local $gp i32) (local $rp i32) (local $ents i32) (local $e i32)
    (local $end i32) (local $w i32) (local $col i32) (local $sum f32)
    (local $s0 v128) (local $z0 v128) (local $r4 v128) (local $a v128) (local $b v128) (local $acc v128)
    (local.set $cb (i32.shl (local.get $bits) (i32.const 2)))
    (local.set $nch (i32.shr_u (local.get $K) (i32.const 5)))
    (local.set $b1 (i32.load offset=24 (local.get $spqr)))
    (local.set $nG (i32.div_u (local.get $K) (local.get $b1)))
    (local.set $gstride (i32.shl (i32.load offset=16 (local.get $spqr)) (i32.const 4)))
    (local.set $cpg (select (i32.const 0) (i32.shr_u (local.get $b1) (i32.const 5)) (i32.eq (local.get $b1) (i32.const 16))))
    (call $xsums (local.get $scratch) (local.get $x) (local.get $K) (local.get $cpg))
    (local.set $rp (i32.add (i32.load offset=8 (local.get $spqr)) (i32.shl (local.get $row0) (i32.const 2))))
    (local.set $ents (i32.load offset=12 (local.get $spqr)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $M)))
        (local.set $row (i32.add (local.get $row0) (local.get $r)))
        (local.set $sq (i32.add (i32.load (local.get $spqr)) (i32.shl (i32.mul (local.get $row) (local.get $nG)) (i32.const 1))))
        (local.set $sec (i32.add (i32.load offset=4 (local.get $spqr))
          (i32.shl (i32.div_u (local.get $row) (i32.load offset=20 (local.get $spqr))) (i32.const 4))))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $xp (local.get $x))
        (if (i32.eqz (local.get $cpg))
          (then
            ;; β1 = 16: a chunk's two halves are two groups
            (local.set $xsp (local.get $scratch))
            (local.set $ch (i32.const 0))
            (block $chunksDone
              (loop $chunkLoop
                (br_if $chunksDone (i32.ge_u (local.get $ch) (local.get $nch)))
                (local.set $r4 (call $sstat2 (local.get $sq) (local.get $sec) (local.get $gstride)))
                (local.set $sq (i32.add (local.get $sq) (i32.const 4)))
                (local.set $sec (i32.add (local.get $sec) (i32.shl (local.get $gstride) (i32.const 1))))
                (call $cdot (local.get $codes) (local.get $bits) (local.get $xp) (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0))
                (local.set $b)
                (local.set $a)
                (if (i32.lt_u (local.get $bits) (i32.const 8))
                  (then ;; lanes 0, 1 hold codes 0 … 15 (the first group), lanes 2, 3 codes 16 … 31
                    (local.set $acc (f32x4.add (local.get $acc)
                      (f32x4.mul (i8x16.shuffle 0 1 2 3 0 1 2 3 8 9 10 11 8 9 10 11 (local.get $r4) (local.get $r4))
                        (f32x4.sub (f32x4.add (local.get $a) (local.get $b))
                          (f32x4.mul (i8x16.shuffle 4 5 6 7 4 5 6 7 12 13 14 15 12 13 14 15 (local.get $r4) (local.get $r4))
                            (f32x4.add (v128.load (local.get $xsp)) (v128.load offset=16 (local.get $xsp)))))))))
                  (else
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.add
                      (f32x4.mul (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $r4) (local.get $r4))
                        (f32x4.sub (local.get $a) (f32x4.mul (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $r4) (local.get $r4)) (v128.load (local.get $xsp)))))
                      (f32x4.mul (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $r4) (local.get $r4))
                        (f32x4.sub (local.get $b) (f32x4.mul (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $r4) (local.get $r4)) (v128.load offset=16 (local.get $xsp))))))))))
                (local.set $codes (i32.add (local.get $codes) (local.get $cb)))
                (local.set $xp (i32.add (local.get $xp) (i32.const 128)))
                (local.set $xsp (i32.add (local.get $xsp) (i32.const 32)))
                (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
                (br $chunkLoop))))
          (else
            ;; groups of cpg whole chunks
            (local.set $gp (i32.add (local.get $scratch) (local.get $K)))
            (local.set $ch (i32.const 0))
            (block $groupsDone
              (loop $groupLoop
                (br_if $groupsDone (i32.ge_u (local.get $ch) (local.get $nch)))
                (call $sstat (i32.load16_u (local.get $sq)) (local.get $sec))
                (local.set $z0)
                (local.set $s0)
                (local.set $sq (i32.add (local.get $sq) (i32.const 2)))
                (local.set $sec (i32.add (local.get $sec) (local.get $gstride)))
                (local.set $a (v128.const i32x4 0 0 0 0))
                (local.set $b (v128.const i32x4 0 0 0 0))
                (local.set $k (i32.const 0))
                (block $chunksDone
                  (loop $chunkLoop
                    (br_if $chunksDone (i32.ge_u (local.get $k) (local.get $cpg)))
                    (call $cdot (local.get $codes) (local.get $bits) (local.get $xp) (local.get $a) (local.get $b))
                    (local.set $b)
                    (local.set $a)
                    (local.set $codes (i32.add (local.get $codes) (local.get $cb)))
                    (local.set $xp (i32.add (local.get $xp) (i32.const 128)))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br $chunkLoop)))
                (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $s0)
                  (f32x4.sub (f32x4.add (local.get $a) (local.get $b)) (f32x4.mul (local.get $z0) (v128.load (local.get $gp)))))))
                (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
                (local.set $ch (i32.add (local.get $ch) (local.get $cpg)))
                (br $groupLoop)))))
        (local.set $sum (call $hsum (local.get $acc)))
        ;; the row's outliers: value·x[col] (col in $chunk's order below 8 bits, as $outliers)
        (local.set $e (i32.load (local.get $rp)))
        (local.set $end (i32.load offset=4 (local.get $rp)))
        (block $entsDone
          (loop $entLoop
            (br_if $entsDone (i32.ge_u (local.get $e) (local.get $end)))
            (local.set $w (i32.load (i32.add (local.get $ents) (i32.shl (local.get $e) (i32.const 2)))))
            (local.set $col (i32.and (local.get $w) (i32.const 0xffff)))
            (if (i32.lt_u (local.get $bits) (i32.const 8))
              (then
                (local.set $col (i32.or (i32.and (local.get $col) (i32.const -32))
                  (i32.or (i32.shl (i32.and (local.get $col) (i32.const 7)) (i32.const 2))
                    (i32.and (i32.shr_u (local.get $col) (i32.const 3)) (i32.const 3)))))))
            (local.set $sum (f32.add (local.get $sum) (f32.mul (call $f16 (i32.shr_u (local.get $w) (i32.const 16)))
              (f32.load (i32.add (local.get $x) (i32.shl (local.get $col) (i32.const 2)))))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br $entLoop)))
        (local.set $rp (i32.add (local.get $rp) (i32.const 4)))
        (if (local.get $bias)
          (then
            (local.set $sum (f32.add (local.get $sum) (f32.load (local.get $bias))))
            (local.set $bias (i32.add (local.get $bias) (i32.const 4)))))
        (f32.store (local.get $out) (local.get $sum))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; out[t, m] = Σ_k x[t, k]·Ŵ[m, k] (+ bias[m]) for packed Ŵ [M, K]: tiles of `tile` rows decoded
  ;; into scratch (tile·K f32), each through gemm; ldo and mb as gemm's. spqr: 0 for an int weight
  ;; (stats as above), else SpQR's statistics and outliers (stats unused); row0: the absolute row of
  ;; the weight's row 0 here (a thread's share starts inside the weight), which SpQR's arrays index.
  (func (export "qgemm") (param $out i32) (param $x i32) (param $codes i32) (param $stats i32) (param $bias i32)
                         (param $T i32) (param $K i32) (param $M i32) (param $ldo i32)
                         (param $bits i32) (param $nGroups i32) (param $cpg i32)
                         (param $scratch i32) (param $tile i32) (param $mb i32) (param $spqr i32) (param $row0 i32)
    (local $m0 i32) (local $n i32) (local $rowBytes i32)
    (if (i32.eq (local.get $T) (i32.const 1))
      (then
        (if (local.get $spqr)
          (then (call $sgemv (local.get $out) (local.get $x) (local.get $codes) (local.get $spqr) (local.get $bias)
            (local.get $K) (local.get $M) (local.get $bits) (local.get $row0) (local.get $scratch)))
          (else (call $qgemv (local.get $out) (local.get $x) (local.get $codes) (local.get $stats) (local.get $bias)
            (local.get $K) (local.get $M) (local.get $bits) (local.get $nGroups) (local.get $cpg) (local.get $scratch))))
        (return)))
    (local.set $rowBytes (i32.shr_u (i32.mul (local.get $K) (local.get $bits)) (i32.const 3)))
    (block $done
      (loop $tiles
        (br_if $done (i32.ge_u (local.get $m0) (local.get $M)))
        (local.set $n (i32.sub (local.get $M) (local.get $m0)))
        (if (i32.gt_u (local.get $n) (local.get $tile)) (then (local.set $n (local.get $tile))))
        (if (local.get $spqr)
          (then
            (call $sdeq (local.get $scratch) (i32.add (local.get $codes) (i32.mul (local.get $m0) (local.get $rowBytes)))
              (local.get $spqr) (i32.add (local.get $row0) (local.get $m0)) (local.get $n) (local.get $K) (local.get $bits))
            (call $outliers (local.get $scratch) (local.get $spqr) (i32.add (local.get $row0) (local.get $m0)) (local.get $n) (local.get $K) (local.get $bits)))
          (else
            (call $qdeq (local.get $scratch)
              (i32.add (local.get $codes) (i32.mul (local.get $m0) (local.get $rowBytes)))
              (i32.add (local.get $stats) (i32.shl (i32.mul (local.get $m0) (local.get $nGroups)) (i32.const 2)))
              (local.get $n) (local.get $K) (local.get $bits) (local.get $nGroups) (local.get $cpg))))
        (call $gemm
          (i32.add (local.get $out) (i32.shl (local.get $m0) (i32.const 2)))
          (local.get $x) (local.get $scratch)
          (if (result i32) (local.get $bias)
            (then (i32.add (local.get $bias) (i32.shl (local.get $m0) (i32.const 2))))
            (else (i32.const 0)))
          (local.get $T) (local.get $K) (local.get $n) (local.get $ldo) (local.get $mb))
        (local.set $m0 (i32.add (local.get $m0) (local.get $n)))
        (br $tiles))))
)
