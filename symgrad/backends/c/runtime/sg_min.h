static inline double sg_min(double a, double b)
{
    return a <= b ? a : (b < a ? b : a + b);
}
