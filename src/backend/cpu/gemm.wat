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
  (func (export "gemm") (param $out i32) (param $x i32) (param $w i32) (param $bias i32)
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
        (br $block)))))
