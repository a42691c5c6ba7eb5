/*  The command groups of sluicectl, in the order `sluicectl --help` shows
    them. One line per group; each group lives in cli/cmd_<name>.c. */
#include "ctl.h"

extern const ctl_group_t ctl_group_keygen;
extern const ctl_group_t ctl_group_member;
extern const ctl_group_t ctl_group_status;
extern const ctl_group_t ctl_group_policy;
extern const ctl_group_t ctl_group_audit;
extern const ctl_group_t ctl_group_consent;
extern const ctl_group_t ctl_group_schema;
extern const ctl_group_t ctl_group_pub;
extern const ctl_group_t ctl_group_sub;
extern const ctl_group_t ctl_group_backup;
extern const ctl_group_t ctl_group_restore;
extern const ctl_group_t ctl_group_broker_key;

const ctl_group_t *const ctl_groups[] = {
    &ctl_group_keygen,
    &ctl_group_member,
    &ctl_group_status,
    &ctl_group_schema,
    &ctl_group_policy,
    &ctl_group_consent,
    &ctl_group_audit,
    &ctl_group_pub,
    &ctl_group_sub,
    &ctl_group_backup,
    &ctl_group_restore,
    &ctl_group_broker_key,
    NULL,
};
