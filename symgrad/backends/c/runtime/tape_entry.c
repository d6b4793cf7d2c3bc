/* Run a tape over n samples. Argument i of sample j starts at args[i] + j*strides[i];
   input slot k is element in_off[k] of argument in_arg[k]; constants fill the slots after the
   inputs. Output r of sample j goes to out[r*n + j], or with reduce (1 sum, 2 mean) out[r]
   accumulates over the samples in order. work: nslots * SG_B doubles the caller keeps from
   call to call (the workspace is then allocated once, not per call), or NULL to allocate one
   here. Returns 0, or 1 if out of memory. */
int sg_vm(const int *tape, long long len, long long nslots, const double *consts,
          long long nconst, long long nin, const int *in_arg, const int *in_off, long long nout,
          const int *out_slot, long long n, const double *const *args, const long long *strides,
          int reduce, double *out, double *work)
{
    const int *end = tape + len;
    long long r, k, j;
    if (reduce) for (r = 0; r < nout; ++r) out[r] = 0.0;
    if (n == 1) {
        double *w = work ? work : (double *)malloc((size_t)(nslots > 0 ? nslots : 1) * sizeof *w);
        if (!w) return 1;
        for (k = 0; k < nin; ++k) w[k] = args[in_arg[k]][in_off[k]];
        for (k = 0; k < nconst; ++k) w[nin + k] = consts[k];
        sg_run1(tape, end, w);
        for (r = 0; r < nout; ++r) out[r] = w[out_slot[r]];
        if (!work) free(w);
        return 0;
    }
    double *w = work ? work : (double *)malloc((size_t)(nslots > 0 ? nslots : 1) * SG_B * sizeof *w);
    if (!w) return 1;
    for (k = 0; k < nconst; ++k)
        for (int l = 0; l < SG_B; ++l) w[(nin + k) * SG_B + l] = consts[k];
    for (j = 0; j < n; j += SG_B) {
        int nl = (int)(n - j < SG_B ? n - j : SG_B);
        for (k = 0; k < nin; ++k) {
            const double *a = args[in_arg[k]] + in_off[k];
            long long s = strides[in_arg[k]];
            for (int l = 0; l < nl; ++l) w[k * SG_B + l] = a[(j + l) * s];
        }
        sg_runb(tape, end, w, nl);
        for (r = 0; r < nout; ++r) {
            const double *v = w + (size_t)out_slot[r] * SG_B;
            if (reduce) {
                double acc = out[r];
                for (int l = 0; l < nl; ++l) acc += v[l];
                out[r] = acc;
            } else {
                for (int l = 0; l < nl; ++l) out[r * n + j + l] = v[l];
            }
        }
    }
    if (reduce == 2) for (r = 0; r < nout; ++r) out[r] /= (double)n;
    if (!work) free(w);
    return 0;
}
