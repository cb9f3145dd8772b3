// Package memory holds the memory machinery that the loaders and the
// implementations share, so that each piece has one definition:
//
//   - read-only file mapping (MapFile), with the registry of live mappings
//     that says whether an address or a slice lies in one (InMappedFile, a
//     mapping's FileMapped);
//   - dropping a mapping's file pages from the process once read
//     (DropFilePages), and faulting pages in with one call (PopulateRead,
//     PopulateWrite);
//   - 2 MB pages: whether transparent huge pages are on (THPOn), and
//     anonymous memory on a 2 MB boundary advised MADV_HUGEPAGE
//     (NewArena, HugePage, HugePagesMin);
//   - the memory the process can still take (AvailableMemory: MemAvailable
//     or a cgroup v2's room) and whether a copy fits in it (RoomFor).
//
// Linux has all of it; other unix systems map files but keep 4 KB pages
// and every page; elsewhere files are read whole.
package memory
