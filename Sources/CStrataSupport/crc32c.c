// CRC-32C with the SSE4.2 instruction where available. Swift cannot emit crc32 directly,
// so this is the one place the project needs C for speed.
#include "strata_support.h"
#include <string.h>

static uint32_t table[8][256];
static int table_ready = 0;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = table[0][i];
        for (int t = 1; t < 8; t++) { c = table[0][c & 0xff] ^ (c >> 8); table[t][i] = c; }
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    uint32_t c = ~crc;
    while (len >= 8) {
        uint64_t v; memcpy(&v, p, 8);
        v ^= c;
        c = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
            table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
            table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8; len -= 8;
    }
    while (len--) c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len) {
    uint64_t c = (uint32_t)~crc;
    while (len >= 8) { uint64_t v; memcpy(&v, p, 8); c = __builtin_ia32_crc32di(c, v); p += 8; len -= 8; }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
static int hw_state = -1;
static int have_hw(void) {
    int s = __atomic_load_n(&hw_state, __ATOMIC_RELAXED);
    if (s < 0) { __builtin_cpu_init(); s = __builtin_cpu_supports("sse4.2") ? 1 : 0; __atomic_store_n(&hw_state, s, __ATOMIC_RELAXED); }
    return s;
}
#else
static int have_hw(void) { return 0; }
static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len) { return crc32c_sw(crc, p, len); }
#endif

uint32_t strata_crc32c_update(uint32_t crc, const void *buf, size_t len) {
    return have_hw() ? crc32c_hw(crc, (const uint8_t *)buf, len) : crc32c_sw(crc, (const uint8_t *)buf, len);
}

int strata_crc32c_hardware(void) { return have_hw(); }
