// The end of a row in every matVec kernel (kernels_avx2_amd64.s and the
// bfloat16 and packed kernels): one order of additions, so that kernels
// that load their weights differently give the same sums from the same
// weights. Macros only: included by each of those files.

// HSUM8: X0's lowest lane = the sum of Y0's 8 lanes, pairwise
// ((0+4)+(2+6)) + ((1+5)+(3+7)); X1 is clobbered.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0
