/* Renumber a tape from values (0..nfixed-1 inputs and constants, then one value per
   instruction in order) to slots: a temporary's slot is reused once its last reader has run;
   outputs live to the end. Rewrites tape and outs in place; returns the slot count, -1 if out
   of memory. */
long long sg_vm_alloc(int *tape, long long len, long long nfixed, long long nvalues,
                      int *outs, long long nout)
{
    long long *last = (long long *)malloc((size_t)(nvalues > 0 ? nvalues : 1) * sizeof *last);
    int *slot = (int *)malloc((size_t)(nvalues > 0 ? nvalues : 1) * sizeof *slot);
    int *pool = (int *)malloc((size_t)(nvalues > 0 ? nvalues : 1) * sizeof *pool);
    long long p, v, nfree = 0, next = nfixed;
    if (!last || !slot || !pool) { free(last); free(slot); free(pool); return -1; }
    for (v = 0; v < nvalues; ++v) last[v] = -1;
    for (p = 0; p < len; p += 2 + sg_arity[tape[p]])
        for (int k = 0; k < sg_arity[tape[p]]; ++k) last[tape[p + 2 + k]] = p;
    for (long long r = 0; r < nout; ++r) last[outs[r]] = len;
    for (v = 0; v < nfixed && v < nvalues; ++v) slot[v] = (int)v;
    for (p = 0, v = nfixed; p < len; p += 2 + sg_arity[tape[p]], ++v) {
        int n = sg_arity[tape[p]], a;
        for (int k = 0; k < n; ++k) {
            a = tape[p + 2 + k];
            tape[p + 2 + k] = slot[a];
            if (a >= nfixed && last[a] == p) { pool[nfree++] = slot[a]; last[a] = -2; }
        }
        slot[v] = nfree ? pool[--nfree] : (int)next++;
        tape[p + 1] = slot[v];
    }
    for (long long r = 0; r < nout; ++r) outs[r] = slot[outs[r]];
    free(last); free(slot); free(pool);
    return next;
}
