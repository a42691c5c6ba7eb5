/*  sl_schema — the record type registry. See sl_schema.h. */
#include "sl_schema.h"

#include <string.h>

#include "water/v1/water.pb-c.h"
#include "power/v1/power.pb-c.h"
#include "health/v1/health.pb-c.h"
#include "parking/v1/parking.pb-c.h"
#include "sluice/v1/consent.pb-c.h"

static const char *const s_reading_times[] = { "date_observed", NULL };
static const char *const s_encounter_times[] = { "period_start", "period_end", NULL };
static const char *const s_charge_times[] = { "occurrence_time", NULL };
static const char *const s_session_times[] = { "actual_start", "actual_end", NULL };
static const char *const s_consent_times[] = { "valid_from", "valid_to", "time", NULL };

/*  The registry. Owner = the bureau whose members may publish the type and
 *  whose admins write its sharing rules. */
static const sl_schema_t s_schemas[] = {
    { "water.v1.MeterReading", "water",
      &water__v1__meter_reading__descriptor, "subject", s_reading_times },
    { "power.v1.MeterReading", "power",
      &power__v1__meter_reading__descriptor, "subject", s_reading_times },
    { "health.v1.Encounter", "health",
      &health__v1__encounter__descriptor, "subject", s_encounter_times },
    { "health.v1.Charge", "health",
      &health__v1__charge__descriptor, "subject", s_charge_times },
    { "parking.v1.Session", "parking",
      &parking__v1__session__descriptor, "subject", s_session_times },
    { "sluice.v1.ConsentEvent", "sluice",
      &sluice__v1__consent_event__descriptor, "subject", s_consent_times },
};

#define S_COUNT (sizeof s_schemas / sizeof s_schemas[0])

const sl_schema_t *
sl_schema_find (const char *record_type)
{
    for (size_t i = 0; i < S_COUNT; i++)
        if (strcmp (s_schemas[i].record_type, record_type) == 0)
            return &s_schemas[i];
    return NULL;
}

size_t
sl_schema_count (void)
{
    return S_COUNT;
}

const sl_schema_t *
sl_schema_at (size_t i)
{
    return i < S_COUNT ? &s_schemas[i] : NULL;
}

int
sl_schema_is_owner (const char *record_type, const char *member)
{
    const sl_schema_t *s = sl_schema_find (record_type);
    return s && strcmp (s->owner, member) == 0;
}

const ProtobufCFieldDescriptor *
sl_schema_field (const sl_schema_t *schema, const char *name)
{
    return protobuf_c_message_descriptor_get_field_by_name (schema->descriptor, name);
}

int
sl_schema_is_time_field (const sl_schema_t *schema, const char *name)
{
    for (const char *const *t = schema->time_fields; t && *t; t++)
        if (strcmp (*t, name) == 0)
            return 1;
    return 0;
}
