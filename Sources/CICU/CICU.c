// ICU renames every C function with its version through macros (ucal_open is ucal_open_72 on ICU 72) and
// Swift imports no macros: each function here calls the ICU function it documents and does nothing else,
// converting between ICU's types and the plain ones of CICU.h.
#include "CICU.h"

#include <unicode/ucal.h>
#include <unicode/uenum.h>
#include <unicode/utypes.h>

_Static_assert(sizeof(UChar) == sizeof(uint16_t), "UChar is a UTF-16 code unit");

bool coffer_icu_failure(coffer_icu_status status) { return U_FAILURE((UErrorCode)status); }

const char *coffer_icu_error_name(coffer_icu_status status) { return u_errorName((UErrorCode)status); }

const char *coffer_icu_tz_data_version(coffer_icu_status *status) {
    UErrorCode code = (UErrorCode)*status;
    const char *version = ucal_getTZDataVersion(&code);
    *status = code;
    return version;
}

coffer_icu_enum *coffer_icu_open_time_zones(coffer_icu_status *status) {
    UErrorCode code = (UErrorCode)*status;
    UEnumeration *enumeration = ucal_openTimeZones(&code);
    *status = code;
    return (coffer_icu_enum *)enumeration;
}

const char *coffer_icu_enum_next(coffer_icu_enum *enumeration, int32_t *length, coffer_icu_status *status) {
    UErrorCode code = (UErrorCode)*status;
    const char *next = uenum_next((UEnumeration *)enumeration, length, &code);
    *status = code;
    return next;
}

void coffer_icu_enum_close(coffer_icu_enum *enumeration) { uenum_close((UEnumeration *)enumeration); }

int32_t coffer_icu_windows_id(const uint16_t *zone, int32_t length, uint16_t *windows_id, int32_t capacity,
                              coffer_icu_status *status) {
    UErrorCode code = (UErrorCode)*status;
    int32_t result = ucal_getWindowsTimeZoneID((const UChar *)zone, length, (UChar *)windows_id, capacity, &code);
    *status = code;
    return result;
}

int32_t coffer_icu_zone_for_windows_id(const uint16_t *windows_id, int32_t length, const char *region,
                                       uint16_t *zone, int32_t capacity, coffer_icu_status *status) {
    UErrorCode code = (UErrorCode)*status;
    int32_t result = ucal_getTimeZoneIDForWindowsID((const UChar *)windows_id, length, region, (UChar *)zone,
                                                    capacity, &code);
    *status = code;
    return result;
}

int32_t coffer_icu_standard_offset_ms(const uint16_t *zone, int32_t length, coffer_icu_status *status) {
    UErrorCode code = (UErrorCode)*status;
    UCalendar *calendar = ucal_open((const UChar *)zone, length, "en_US_POSIX", UCAL_GREGORIAN, &code);
    int32_t offset = 0;
    if (U_SUCCESS(code)) {
        offset = ucal_get(calendar, UCAL_ZONE_OFFSET, &code);
    }
    if (calendar != NULL) {
        ucal_close(calendar);
    }
    *status = code;
    return offset;
}
