#include "common/byte_ring.h"

#include <algorithm>
#include <cassert>

namespace shoal {

void ByteRing::Init(void* memory, size_t capacity) {
  assert(capacity >= 64 && (capacity & (capacity - 1)) == 0);
  auto* h = static_cast<RingHeader*>(memory);
  h->capacity = capacity;
  h->tail.store(0, std::memory_order_relaxed);
  h->head.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

ByteRing::ByteRing(void* memory)
    : header_(static_cast<RingHeader*>(memory)),
      data_(static_cast<char*>(memory) + sizeof(RingHeader)),
      capacity_(header_->capacity),
      mask_(capacity_ - 1) {
  // Each side resumes from the shared indices: a fresh view of a ring that
  // is in use (a replacement worker) starts where the indices stand.
  local_tail_ = header_->tail.load(std::memory_order_acquire);
  cached_head_ = header_->head.load(std::memory_order_acquire);
  local_head_ = cached_head_;
  cached_tail_ = local_tail_;
}

void ByteRing::CopyIn(uint64_t pos, const void* src, size_t n) {
  if (n == 0) return;  // src may be null (an empty string_view): memcpy(_, nullptr, 0) is UB
  size_t off = pos & mask_;
  size_t first = std::min<size_t>(n, capacity_ - off);
  std::memcpy(data_ + off, src, first);
  if (first < n) std::memcpy(data_, static_cast<const char*>(src) + first, n - first);
}

void ByteRing::CopyOut(uint64_t pos, void* dst, size_t n) const {
  size_t off = pos & mask_;
  size_t first = std::min<size_t>(n, capacity_ - off);
  std::memcpy(dst, data_ + off, first);
  if (first < n) std::memcpy(static_cast<char*>(dst) + first, data_, n - first);
}

bool ByteRing::TryWrite(uint32_t type, std::string_view payload) {
  return TryWrite(type, payload, std::string_view());
}

bool ByteRing::TryWrite(uint32_t type, std::string_view part1, std::string_view part2) {
  size_t length = part1.size() + part2.size();
  if (length > max_record()) return false;
  size_t need = RecordBytes(length);
  if (local_tail_ + need - cached_head_ > capacity_) {
    cached_head_ = header_->head.load(std::memory_order_acquire);
    if (local_tail_ + need - cached_head_ > capacity_) return false;
  }
  uint32_t h[2] = {static_cast<uint32_t>(length), type};
  // local_tail_ is 8-aligned and capacity a multiple of 8: the header never wraps.
  std::memcpy(data_ + (local_tail_ & mask_), h, sizeof h);
  CopyIn(local_tail_ + kHeaderBytes, part1.data(), part1.size());
  CopyIn(local_tail_ + kHeaderBytes + part1.size(), part2.data(), part2.size());
  local_tail_ += need;
  return true;
}

bool ByteRing::TryWritePiece(uint32_t type, std::string_view payload, size_t* offset) {
  const size_t n = std::min(payload.size() - *offset, max_piece());
  const bool last = *offset + n == payload.size();
  if (!TryWrite(last ? type : type | kMorePieces, payload.substr(*offset, n))) return false;
  *offset += n;
  return true;
}

void ByteRing::Publish() {
  header_->tail.store(local_tail_, std::memory_order_release);
}

uint64_t ByteRing::FreeBytes() {
  cached_head_ = header_->head.load(std::memory_order_acquire);
  return capacity_ - (local_tail_ - cached_head_);
}

bool ByteRing::Drained() const {
  return header_->head.load(std::memory_order_acquire) == local_tail_;
}

ByteRing::ReadStatus ByteRing::Read(uint32_t* type, std::string_view* payload,
                                    std::string* scratch) {
  for (;;) {
    if (local_head_ == cached_tail_) {
      cached_tail_ = header_->tail.load(std::memory_order_acquire);
      if (local_head_ == cached_tail_) return ReadStatus::kEmpty;
    }
    uint64_t available = cached_tail_ - local_head_;
    if (available > capacity_ || available < kHeaderBytes || (available & 7) != 0) {
      return ReadStatus::kCorrupt;
    }
    uint32_t h[2];
    std::memcpy(h, data_ + (local_head_ & mask_), sizeof h);
    size_t length = h[0];
    if (length > max_record() || RecordBytes(length) > available) return ReadStatus::kCorrupt;
    uint64_t start = local_head_ + kHeaderBytes;
    const bool more = (h[1] & kMorePieces) != 0;
    if (!more && !in_pieces_) {
      *type = h[1];
      size_t off = start & mask_;
      if (off + length <= capacity_) {
        *payload = std::string_view(data_ + off, length);
      } else {
        scratch->resize(length);
        CopyOut(start, scratch->data(), length);
        *payload = *scratch;
      }
      local_head_ += RecordBytes(length);
      return ReadStatus::kRecord;
    }
    // A piece: every piece of one record has the same type.
    const uint32_t piece_type = h[1] & ~kMorePieces;
    if (in_pieces_ && piece_type != pieces_type_) return ReadStatus::kCorrupt;
    if (pieces_.size() + length > kMaxPiecedRecord) return ReadStatus::kCorrupt;
    const size_t have = pieces_.size();
    pieces_.resize(have + length);
    CopyOut(start, pieces_.data() + have, length);
    local_head_ += RecordBytes(length);
    if (more) {
      in_pieces_ = true;
      pieces_type_ = piece_type;
      continue;
    }
    in_pieces_ = false;
    scratch->swap(pieces_);
    pieces_.clear();
    *type = piece_type;
    *payload = *scratch;
    return ReadStatus::kRecord;
  }
}

bool ByteRing::Release() {
  const bool freed = header_->head.load(std::memory_order_relaxed) != local_head_;
  header_->head.store(local_head_, std::memory_order_release);
  return freed;
}

bool ByteRing::HasData() const {
  return header_->tail.load(std::memory_order_acquire) != local_head_;
}

uint64_t ByteRing::UsedBytes() const {
  return header_->tail.load(std::memory_order_acquire) - local_head_;
}

}  // namespace shoal
