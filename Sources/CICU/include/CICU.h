#ifndef COFFER_CICU_H
#define COFFER_CICU_H
// The calls coffer makes into the system ICU, declared with plain C types only. No ICU header is included
// here: Foundation carries its own copy of ICU (_FoundationICU) whose declarations of the same names
// (UErrorCode, UCalendarDateFields, ...) differ from the system's, and a Swift module that saw both would
// fail to compile. The ICU types stay inside CICU.c.
#include <stdbool.h>
#include <stdint.h>

/// ICU's UErrorCode, as an integer: 0 is U_ZERO_ERROR, positive values are failures, negative ones warnings.
typedef int32_t coffer_icu_status;

/// An enumeration of strings (ICU's UEnumeration), owned by the caller until coffer_icu_enum_close.
typedef struct coffer_icu_enum coffer_icu_enum;

/// U_FAILURE(status).
bool coffer_icu_failure(coffer_icu_status status);

/// u_errorName: ICU's name of a status ("U_MISSING_RESOURCE_ERROR"), a static string.
const char *coffer_icu_error_name(coffer_icu_status status);

/// ucal_getTZDataVersion: the version of the tz data ("2022e"), a static string.
const char *coffer_icu_tz_data_version(coffer_icu_status *status);

/// ucal_openTimeZones: every zone id ICU knows, links included.
coffer_icu_enum *coffer_icu_open_time_zones(coffer_icu_status *status);

/// uenum_next: the next string, NULL at the end.
const char *coffer_icu_enum_next(coffer_icu_enum *enumeration, int32_t *length, coffer_icu_status *status);

/// uenum_close.
void coffer_icu_enum_close(coffer_icu_enum *enumeration);

/// ucal_getWindowsTimeZoneID: the Windows id CLDR maps a zone to, as UTF-16 into `windows_id`; 0 when none.
int32_t coffer_icu_windows_id(const uint16_t *zone, int32_t length, uint16_t *windows_id, int32_t capacity,
                              coffer_icu_status *status);

/// ucal_getTimeZoneIDForWindowsID: the zone CLDR maps a Windows id to for `region` (NULL: the world), as
/// UTF-16 into `zone`; 0 when the id is unknown.
int32_t coffer_icu_zone_for_windows_id(const uint16_t *windows_id, int32_t length, const char *region,
                                       uint16_t *zone, int32_t capacity, coffer_icu_status *status);

/// ucal_open (Gregorian, en_US_POSIX) and ucal_get(UCAL_ZONE_OFFSET): a zone's standard offset from UTC in
/// milliseconds, as the tz data gives it now. ICU opens an unknown zone as GMT without failing.
int32_t coffer_icu_standard_offset_ms(const uint16_t *zone, int32_t length, coffer_icu_status *status);

#endif
