static inline double sg_fmax(double a, double b)
{
    /* NumPy's np.fmax: a NaN loses to a number (sg_max propagates it) */
    return a >= b || b != b ? a : b;
}
