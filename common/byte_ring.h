// A single-producer single-consumer ring of variable-length records in shared
// memory, the one structure that carries every task, result, log line and
// exception between the master and a worker.
//
// Why this and not Boost's message_queue: a process killed inside
// message_queue::send leaves the queue's (non-robust) mutex locked and every
// later receive hangs (20 of 20 trials with Boost 1.74). Here there is no lock. Each side writes
// only its own index: the producer writes record bytes beyond `tail`, then publishes them with one
// release-store of `tail`; the consumer reads up to `tail` and frees space with one release-store
// of `head`. A producer killed at any instruction has either published a record or not;
// half-written bytes beyond `tail` are invisible and are overwritten by the next producer. The
// consumer validates every header it reads, so even a producer that scribbles garbage is detected
// (Corrupt) instead of crashing the master.
//
// Layout: RingHeader, then `capacity` data bytes (a power of two). A record is
// an 8-byte header {u32 length, u32 type} and `length` payload bytes, padded to
// 8; the payload may wrap around the end of the data area (copied out in two
// pieces then), so a record of any size up to capacity - 8 fits, whatever the
// positions of head and tail.
//
// A record longer than a ring that is sized small (many workers, see
// RingSizesFor in channel.h) crosses in pieces: every piece but the last has
// kMorePieces set in its type, each is published on its own so that the
// consumer frees room for the next, and Read() returns the record only once
// its last piece is in, whole. A producer killed between pieces leaves an
// unfinished record that is never returned; it is dropped with the consumer's
// view of the ring (a fresh ByteRing for a replacement worker).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace shoal {

struct RingHeader {
  alignas(64) std::atomic<uint64_t> tail;  // producer-owned: bytes ever published
  alignas(64) std::atomic<uint64_t> head;  // consumer-owned: bytes ever consumed
  alignas(64) uint64_t capacity;           // data bytes, power of two; set once by Init
};

class ByteRing {
 public:
  // Shared-memory bytes needed for a ring of `capacity` data bytes.
  static size_t BytesFor(size_t capacity) { return sizeof(RingHeader) + capacity; }
  // Formats `memory` (zeroed or not) as an empty ring. Only while no one else uses it.
  static void Init(void* memory, size_t capacity);

  ByteRing() = default;
  explicit ByteRing(void* memory);

  uint64_t capacity() const { return capacity_; }
  // Largest payload a single record can have.
  size_t max_record() const { return capacity_ - kHeaderBytes; }
  // Largest payload of one piece of a record written with TryWritePiece: a
  // quarter of the ring, so that a piece fits while the consumer still holds
  // the previous ones.
  size_t max_piece() const { return capacity_ / 4 - kHeaderBytes; }

  // ---- Producer side (one process at a time) ----
  // Appends one record unless there is not room for it now; false = full.
  // Appended records become visible only at Publish().
  bool TryWrite(uint32_t type, std::string_view payload);
  // Same with a payload given in two pieces (a fixed header and a body).
  bool TryWrite(uint32_t type, std::string_view part1, std::string_view part2);
  // Writes the next piece of `payload`, from `*offset` on, unless there is not
  // room for it now (false = full); advances `*offset`. The record is whole
  // once *offset == payload.size(). Publish() after each piece: the consumer
  // must take the first pieces before a record longer than the ring gets in.
  bool TryWritePiece(uint32_t type, std::string_view payload, size_t* offset);
  void Publish();
  // Bytes free for writing now (re-reads the consumer's head).
  uint64_t FreeBytes();
  // Bytes published or written and not yet taken by the consumer (re-reads
  // the consumer's head).
  uint64_t Backlog() { return capacity_ - FreeBytes(); }
  // True when the consumer has taken everything published.
  bool Drained() const;

  // ---- Consumer side (one process at a time) ----
  enum class ReadStatus { kRecord, kEmpty, kCorrupt };
  // Reads the next published record. `*payload` points into the ring when the
  // record is contiguous, else into `*scratch`; use it before the next Read()
  // or Release(). Pieces of a record are gathered: kEmpty while its last piece
  // is not published yet (Release() then frees the pieces read so far).
  ReadStatus Read(uint32_t* type, std::string_view* payload, std::string* scratch);
  // Frees everything read so far for the producer; true if that was anything.
  bool Release();
  // True when a record is published and not yet read (acquire).
  bool HasData() const;
  // Published but unread bytes, as the consumer sees them.
  uint64_t UsedBytes() const;
  // The same as of the consumer's last look at the producer's tail: no
  // shared memory is read, so it is free to call for every record.
  uint64_t KnownBacklog() const { return cached_tail_ - local_head_; }

  static constexpr size_t kHeaderBytes = 8;
  // In a piece's type: more pieces follow. Record types are below it.
  static constexpr uint32_t kMorePieces = 1u << 31;
  // A record in pieces is at most this long: a producer that scribbles cannot
  // make the consumer gather without end.
  static constexpr size_t kMaxPiecedRecord = size_t{1} << 20;
  static size_t RecordBytes(size_t payload) { return kHeaderBytes + ((payload + 7) & ~size_t{7}); }

 private:
  void CopyIn(uint64_t pos, const void* src, size_t n);
  void CopyOut(uint64_t pos, void* dst, size_t n) const;

  RingHeader* header_ = nullptr;
  char* data_ = nullptr;
  uint64_t capacity_ = 0;
  uint64_t mask_ = 0;
  // Local copies: the producer's unpublished tail and its last view of head;
  // the consumer's unreleased head and its last view of tail.
  uint64_t local_tail_ = 0;
  uint64_t cached_head_ = 0;
  uint64_t local_head_ = 0;
  uint64_t cached_tail_ = 0;
  // The consumer's pieces of an unfinished record, and that record's type.
  std::string pieces_;
  uint32_t pieces_type_ = 0;
  bool in_pieces_ = false;
};

}  // namespace shoal
