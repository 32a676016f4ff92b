// TIFF and GeoTIFF decoding: one page of a classic TIFF or BigTIFF file, in
// either byte order, to an [height, width, bands] array in native byte order.
//
// What is read (anything else is an InvalidArgument error that names it):
//   - strips or tiles; PlanarConfiguration 1 (contig) and 2 (separate, which
//     is interleaved on the way out); any SamplesPerPixel;
//   - 8-, 16-, 32- and 64-bit samples, all of one size: unsigned
//     (SampleFormat 1), signed (2) or IEEE float (3; 16, 32 and 64 bits);
//   - compression 1 (none), 5 (LZW, MSB-first codes with early change),
//     8 and 32946 (zlib-wrapped deflate, through inflate.h), 32773 (PackBits)
//     and 50000 (ZSTD, when the build found libzstd: TiffHasZstd());
//   - predictor 1 (none), 2 (horizontal differencing of integer samples) and
//     3 (the floating-point predictor of 16-, 32- and 64-bit floats);
//   - photometric interpretations other than palette (3), YCbCr (6) and the
//     JPEG/LogLuv/CIELab families: the stored samples are returned as they are.
//
// Every byte is untrusted: each offset and byte count is checked against the
// file's size; an IFD chain that loops, or is longer than the file could hold,
// is an error; a chunk's decompressed size is exactly what its shape needs (a
// codec stream that produces more or fewer bytes is an error); LZW codes are
// checked against the table; the output a page declares must be justified by
// the bytes of the chunks it needs times the codec's largest expansion
// (TiffMaxExpansion) before anything is allocated. An LZW stream may end
// without EndOfInformation once its chunk is full; PackBits data may not hold
// more runs than its chunk needs (-128 no-op bytes are skipped); the Adler-32
// trailer of a deflate chunk is not checked (its size and structure are). Messages name `contents`
// (or `page`, `window`, `dtype`) and say what was found and what was expected.
//
// Example: tifffile.imwrite(f, np.arange(6, dtype='<u2').reshape(2, 3)) writes
// a little-endian classic TIFF with one strip of 12 bytes; ReadTiffInfo gives
// height 2, width 3, bands 1, uint16, 1 page, compression 1, not tiled,
// contig; DecodeTiff with the full window writes the 6 values 0..5 as [2, 3, 1].
//
// GeoTIFF: tiff_info reports GDAL_NODATA (tag 42113, an ASCII number), the
// geotransform in GDAL order (x0, dx, rx, y0, ry, dy) from ModelTiepoint (33922)
// + ModelPixelScale (33550), or from ModelTransformation (34264), and from the
// GeoKeyDirectory (34735) the EPSG code (ProjectedCSTypeGeoKey 3072, else
// GeographicTypeGeoKey 2048) and GTRasterTypeGeoKey 1025 (1 area, 2 point).
#ifndef GILFREE_CORE_TIFF_H_
#define GILFREE_CORE_TIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "dtype.h"
#include "parallel.h"
#include "status.h"

namespace gilfree {

struct TiffInfo {
  // The file.
  bool big_tiff = false;
  bool big_endian = false;
  int64_t pages = 0;  // IFDs in the main chain
  int64_t page = 0;   // the page described below
  // The page.
  int64_t height = 0, width = 0, bands = 0;
  DType dtype = DType::kUInt8;
  int compression = 1;  // the tag's value
  int predictor = 1;
  int photometric = -1;  // -1: the tag is absent
  bool tiled = false;
  int64_t tile_height = 0, tile_width = 0;  // when tiled
  int64_t rows_per_strip = 0;               // when striped
  bool planar_separate = false;
  // GeoTIFF.
  bool has_nodata = false;
  double nodata = 0.0;
  bool has_geotransform = false;
  double geotransform[6] = {0, 0, 0, 0, 0, 0};
  int64_t epsg = 0;           // 0: none
  bool raster_point = false;  // GTRasterTypeGeoKey 2 (PixelIsPoint); else area
  // The chunks (strips or tiles), in the file's order: for a separate page,
  // every chunk of band 0, then band 1, ... Each lies inside the file.
  std::vector<uint64_t> chunk_offsets;
  std::vector<uint64_t> chunk_bytes;
};

// The name of a Compression tag value: "none", "lzw", "deflate" (8 and
// 32946), "packbits", "zstd", "jpeg", ...; "unknown" for others.
const char* TiffCompressionName(int compression);

// Whether this build decodes ZSTD (50000): it found libzstd.
bool TiffHasZstd();

// The largest ratio of decompressed to compressed bytes a codec can reach;
// a page whose needed chunks could not hold its declared output is refused.
// none 1 (a chunk holds its bytes); PackBits 64 (a 2-byte run writes 128);
// deflate 1032 (a 258-byte match per 2 bits); LZW 3641 (a code of at least 9
// bits writes one table string, shorter than 4096 bytes: 4096 * 8 / 9); ZSTD
// 32768 (a 128 KiB RLE block from its 3-byte header and 1 byte); 0 for a
// compression that is not decoded. ResolveTiffWindow applies it to each
// needed chunk (which bounds the scratch buffer too) and to their sum.
int64_t TiffMaxExpansion(int compression);

// Parses the header of the file in [data, data + size), walks the IFD chain
// (counting the pages, refusing loops) and reads page `page`, checking that
// it is one this decoder reads (see above) and that every chunk lies inside
// the file. A page out of range is an error naming `page` and the count.
Status ReadTiffInfo(const uint8_t* data, int64_t size, int64_t page, TiffInfo* info);

// The page's sample type must be `expected`, else an error naming both.
Status CheckTiffDType(const TiffInfo& info, DType expected);

// A window of the page: rows [row, row + height), columns [col, col + width).
struct TiffWindow {
  int64_t row = 0, col = 0, height = 0, width = 0;
};

// The window to decode: `window` is null for the whole page, else
// {row, col, height, width}, which must be non-negative with height and
// width >= 1 and lie inside the page (an error naming `window`, the values
// and the page's size). Also refuses a window whose output the chunks it
// needs cannot justify (TiffMaxExpansion).
Status ResolveTiffWindow(const TiffInfo& info, const int64_t* window, TiffWindow* out);

// Decodes the chunks the window touches, and only those, into `out`:
// [window.height, window.width, info.bands] samples, C order, native byte
// order. Chunks are decoded in parallel (one unit each; results do not depend
// on the number of threads). `info` comes from ReadTiffInfo on the same bytes
// and `window` from ResolveTiffWindow.
Status DecodeTiff(const uint8_t* data, int64_t size, const TiffInfo& info, const TiffWindow& window,
                  void* out, const ParallelFor* parallel_for);

}  // namespace gilfree

#endif  // GILFREE_CORE_TIFF_H_
