// Package regf reads Windows registry hive files (the "regf" format of
// SOFTWARE, SYSTEM, NTUSER.DAT …) in pure Go, so that a scan of an offline
// Windows disk reads the same keys a live scan reads through the registry
// API. A hive's keys implement [winreg.Key].
//
// The format was learnt from public descriptions, and the code written
// from them:
//   - Maxim Suhanov, "Windows registry file format specification"
//     (https://github.com/msuhanov/regf): the base block, hive bins, cells,
//     nk/vk/sk/db records and li/lf/lh/ri subkey lists, and the old
//     ("DIRT" dirty vector) and new ("HvLE" log entries, Marvin32 hashes)
//     transaction log formats and how a dirty hive is recovered from them;
//   - Joachim Metz, "Windows NT Registry File (REGF) format" (libyal
//     libregf documentation,
//     https://github.com/libyal/libregf/tree/main/documentation);
//   - the Marvin32 test vectors published with .NET's System.Marvin tests
//     (dotnet/runtime), which marvin_test.go checks.
//
// Reading is on demand: [Open] reads the 4 KiB base block and checks it;
// each key, value and list is read from the [io.ReaderAt] when asked for,
// through a small cache of 4 KiB pages, so the memory a hive costs follows
// what is read, not the file's size. Every offset is checked against the
// hive bins data the base block declares, every count, depth and size
// against [Options], and subkey lists that point back at themselves and
// keys that are their own ancestors are errors, not loops. Errors name the
// hive and the offset of the cell at fault and wrap [ErrCorrupt], or
// [winreg.ErrTooLarge] for a limit. A corrupt cell and the exhausted cell
// budget ([Options.MaxCells]) also wrap [winreg.ErrHiveUnavailable]: the
// rest of the hive cannot be trusted to be read, unlike a key over a
// limit, whose neighbours are read as usual.
//
// A hive whose base block's sequence numbers differ (or whose checksum is
// wrong) was not written completely: it is dirty ([Hive.Dirty]). Its
// transaction logs (.LOG1, .LOG2), when given, are replayed on top of it in
// memory ([Hive.Replayed]); without them the hive is read as the file holds
// it.
package regf
