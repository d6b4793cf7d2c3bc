static inline double sg_sigmoid(double x)
{
    /* exp of a non-positive number only: no overflow for any finite x */
    double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
