static inline double sg_mod(double a, double b)
{
    /* NumPy's np.mod, Python's %: the remainder takes the divisor's sign; NaN for b == 0 */
    const double m = fmod(a, b);
    return m != 0.0 ? ((b < 0.0) != (m < 0.0) ? m + b : m) : copysign(0.0, b);
}
