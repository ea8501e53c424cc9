#ifndef COFFER_CICU_SHIM_H
#define COFFER_CICU_SHIM_H
#include <stdbool.h>
#include <unicode/utypes.h>
#include <unicode/ucal.h>
#include <unicode/uenum.h>

// ICU renames every C function with its version (ucal_open is a macro for ucal_open_72), and Swift does not
// import macros: these wrappers give the functions coffer calls one stable name, whatever the ICU version.
// Each does nothing but call the function it is named after.

static inline bool coffer_U_FAILURE(UErrorCode code) { return U_FAILURE(code); }

static inline const char *coffer_u_errorName(UErrorCode code) { return u_errorName(code); }

static inline const char *coffer_ucal_getTZDataVersion(UErrorCode *status) { return ucal_getTZDataVersion(status); }

static inline UEnumeration *coffer_ucal_openTimeZones(UErrorCode *status) { return ucal_openTimeZones(status); }

static inline const char *coffer_uenum_next(UEnumeration *en, int32_t *resultLength, UErrorCode *status) {
    return uenum_next(en, resultLength, status);
}

static inline void coffer_uenum_close(UEnumeration *en) { uenum_close(en); }

static inline int32_t coffer_ucal_getWindowsTimeZoneID(
    const UChar *id, int32_t len, UChar *winid, int32_t winidCapacity, UErrorCode *status) {
    return ucal_getWindowsTimeZoneID(id, len, winid, winidCapacity, status);
}

static inline int32_t coffer_ucal_getTimeZoneIDForWindowsID(
    const UChar *winid, int32_t len, const char *region, UChar *id, int32_t idCapacity, UErrorCode *status) {
    return ucal_getTimeZoneIDForWindowsID(winid, len, region, id, idCapacity, status);
}

static inline UCalendar *coffer_ucal_open(
    const UChar *zoneID, int32_t len, const char *locale, UCalendarType type, UErrorCode *status) {
    return ucal_open(zoneID, len, locale, type, status);
}

static inline void coffer_ucal_close(UCalendar *cal) { ucal_close(cal); }

static inline int32_t coffer_ucal_get(const UCalendar *cal, UCalendarDateFields field, UErrorCode *status) {
    return ucal_get(cal, field, status);
}

#endif
