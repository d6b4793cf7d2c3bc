static inline double sg_fmin(double a, double b)
{
    return a <= b || b != b ? a : b;
}
