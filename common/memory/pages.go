package memory

// HugePage is the size of the pages that transparent huge pages give:
// 2 MB on x86-64 and on arm64 with 4 KB base pages. Streaming weights
// through 4 KB pages costs a TLB miss every 4 KB; through 2 MB pages, one
// a 2 MB.
const HugePage = 2 << 20

// HugePagesMin: smaller weights stay in their 4 KB pages (the test
// models), where a copy into 2 MB pages would gain nothing measurable.
const HugePagesMin = 32 << 20
