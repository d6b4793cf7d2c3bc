static inline double sg_logaddexp(double a, double b)
{
    /* NumPy's np.logaddexp: max(a, b) + log1p(exp(-|a - b|)), no overflow; a == b
       (equal infinities too) gives a + log(2) */
    const double d = a - b, e = log1p(exp(-fabs(d)));
    return a == b ? a + 0.6931471805599453 : (d > 0.0 ? a + e : (d <= 0.0 ? b + e : d));
}
