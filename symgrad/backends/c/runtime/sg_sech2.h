SG_INLINE double sg_sech2(double x)
{
    /* sech(x)^2 = q(2 - q), q = 2/(exp(2|x|) + 1) from sg_tanh.h: no cancellation and no
       overflow, where 1 - tanh(x)^2 is 0 from |x| ~ 19 on; beside tanh(x) the exp is shared */
    const double q = sg_tanh_q(fabs(x));
    return q * (2.0 - q);
}
