static inline double sg_nan_to_num(double x)
{
    /* NumPy's defaults: NaN -> 0, +-inf -> the largest finite double of that sign */
    return x != x ? 0.0 : (fabs(x) == HUGE_VAL ? copysign(1.7976931348623157e308, x) : x);
}
