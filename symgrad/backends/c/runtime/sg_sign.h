static inline double sg_sign(double x)
{
    return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x * 0.0);
}
