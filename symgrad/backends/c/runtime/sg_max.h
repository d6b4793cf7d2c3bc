static inline double sg_max(double a, double b)
{
    /* NaN-propagating (fmax would drop a NaN) */
    return a >= b ? a : (b > a ? b : a + b);
}
