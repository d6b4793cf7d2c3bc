static inline double sg_softplus(double x)
{
    /* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow for any finite x */
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}
