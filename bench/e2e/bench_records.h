/*  bench_records — 256-byte records of the four bureaus for the benchmarks.
 *
 *  Each record is a real, decodable record of its type (water.v1.MeterReading,
 *  power.v1.MeterReading, health.v1.Encounter, parking.v1.Session) with a
 *  varying subject, padded through one free-text field so that its packed size
 *  is exactly the size asked for.
 */
#ifndef BENCH_RECORDS_H
#define BENCH_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_RECORD_SIZE 256
#define BENCH_N_TYPES 4

typedef struct {
    const char *record_type;
    const char *owner;
} bench_type_t;

extern const bench_type_t bench_types[BENCH_N_TYPES];

typedef struct {
    size_t n;
    uint8_t **body;
    size_t *size;
    char **subjects;
} bench_bodies_t;

/*  Makes `n` packed records of `type` (publisher `seed`), each exactly
 *  `size` bytes. Returns 0 or -1 (printed). */
int bench_bodies_make (bench_bodies_t *out, const bench_type_t *type, int seed, size_t n,
                       size_t size);

void bench_bodies_free (bench_bodies_t *b);

#endif
