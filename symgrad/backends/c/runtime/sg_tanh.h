/* SG_FMA(a, b, c) is a*b + c, fused where the CPU has FMA
   (builds use -ffp-contract=off, so only an explicit fma() fuses) */
#ifndef SG_FMA
#if defined(__FMA__) || defined(__FP_FAST_FMA)
#define SG_FMA(a, b, c) fma(a, b, c)
#else
#define SG_FMA(a, b, c) ((a) * (b) + (c))
#endif
#endif
/* Under SG_SIMD every call is inlined: batch loops vectorize the arithmetic itself, and
   tanh(x) beside sech2(x) (tanh's derivative) shares one exp (sg_tanh_q), which GCC finds
   once both are inlined. Elsewhere the compiler decides, as for any static inline. */
#ifndef SG_INLINE
#if defined(SG_SIMD) && defined(__GNUC__)
#define SG_INLINE static inline __attribute__((always_inline))
#else
#define SG_INLINE static inline
#endif
#endif
SG_INLINE double sg_tanh_small(double a)
{
    /* tanh(a) for 0 <= a < 1: a + a^3 P(a^2), P of degree 15 (relative minimax, fitted with
       mpmath; Estrin's scheme, 4 FMAs deep) */
    const double z = a * a;
    const double p0 = SG_FMA(0.13333333333333092, z, -0.3333333333333333);
    const double p1 = SG_FMA(0.021869488529139693, z, -0.05396825396804674);
    const double p2 = SG_FMA(0.003592126680862536, z, -0.008863235404740533);
    const double p3 = SG_FMA(0.000589979331830641, z, -0.001455824701105225);
    const double p4 = SG_FMA(9.646300475325674e-05, z, -0.0002389571608269734);
    const double p5 = SG_FMA(1.4606501420206775e-05, z, -3.8389950932968844e-05);
    const double p6 = SG_FMA(1.3793193454333705e-06, z, -4.988037920458914e-06);
    const double p7 = SG_FMA(2.516043776136952e-08, z, -2.6334844931510486e-07);
    const double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    const double q0 = SG_FMA(p1, z2, p0), q1 = SG_FMA(p3, z2, p2);
    const double q2 = SG_FMA(p5, z2, p4), q3 = SG_FMA(p7, z2, p6);
    return SG_FMA(a * z, SG_FMA(SG_FMA(q3, z4, q2), z8, SG_FMA(q1, z4, q0)), a);
}

SG_INLINE double sg_tanh_q(double a)
{
    /* q = 2/(E + 1), E = exp(2a), for a = |x|: tanh(x) = 1 - q and sech(x)^2 = q(2 - q), each
       without cancellation (q and 2 - q are both accurate). exp is inline (2a = k ln2 + r,
       |r| <= ln2/2, e^r = 1 + r + r^2 Q(r), Q of degree 9), so that scalar and vector code
       give the same bits. a is clamped at 380, where q(2 - q) rounds to 0 (NaN stays NaN);
       2^k is two normal factors, 2^k1 (k1 <= 1021) and 2^(k1 - k) (1 unless a > 354), so
       nothing overflows and q can be subnormal. */
    union { double d; unsigned long long u; } s, t;
    const double y = a > 380.0 ? 760.0 : a + a;
    const double kb = SG_FMA(y, 1.4426950408889634, 0x1.8p52); /* k in the low bits */
    const double k = kb - 0x1.8p52;
    const double r = SG_FMA(-k, -4.2009150726810846e-11, SG_FMA(-k, 0x1.62e42ffp-1, y));
    const double e0 = SG_FMA(0.16666666666666644, r, 0.5000000000000001);
    const double e1 = SG_FMA(0.008333333333356199, r, 0.04166666666662431);
    const double e2 = SG_FMA(0.00019841269784669295, r, 0.0013888888917138378);
    const double e3 = SG_FMA(2.755735550523405e-06, r, 2.480152139633535e-05);
    const double e4 = SG_FMA(2.506816919552597e-08, r, 2.762004665507207e-07);
    const double r2 = r * r, r4 = r2 * r2;
    const double eq = SG_FMA(SG_FMA(e4, r4, SG_FMA(e3, r2, e2)), r4, SG_FMA(e1, r2, e0));
    const double k1 = k > 1021.0 ? 1021.0 : k;
    s.d = k1 + 0x1.8p52;
    s.u = (s.u + 1023) << 52; /* 2^k1 */
    t.d = (k1 - k) + 0x1.8p52;
    t.u = (t.u + 1023) << 52; /* 2^(k1 - k) */
    return 2.0 / SG_FMA(SG_FMA(r2, eq, r), s.d, s.d + 1.0) * t.d;
}

SG_INLINE double sg_tanh(double x)
{
    /* libm's tanh (expm1, then a division) is slow in dependent chains; this one has a short
       critical path: |x| < 1 a polynomial (sg_tanh_small), else 1 - q (sg_tanh_q). The sign is
       put back last: odd exactly, tanh(-0) = -0. Max error 1.2 ulp with FMA, 1.4 without
       (measured: docs/c_backend.md). */
    const double a = fabs(x), small = sg_tanh_small(a), q = sg_tanh_q(a); /* both, always:
       vector code computes both anyway, and an unconditional q is one sech2(x) can share */
    return copysign(a < 1.0 ? small : 1.0 - q, x);
}
