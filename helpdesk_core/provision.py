"""`helpdesk provision --ruby`: the Redmine objects of mappings.yaml as an idempotent script.

Redmine's REST API cannot create trackers, statuses, priorities, custom fields, roles or
workflows, so provisioning is a `rails runner` script run on the Redmine host. It finds each
object by name and saves it only when something differs, and prints a JSON summary of what
it changed: a second run prints `"changed": []`.
"""

from __future__ import annotations

from typing import Any, Literal

from helpdesk_core.mail_preferences import REDMINE_LANGUAGE
from helpdesk_core.mappings import Mappings
from helpdesk_core.ruby import ruby_script

NotificationSwitch = Literal["keep", "on", "off"]
# The Redmine setting cannot be read over REST; provisioning mirrors it into this hidden
# custom field's default value so that `doctor` and `migrate plan` can see it.
NOTIFICATIONS_MARKER_FIELD = "helpdesk: уведомления"
REDMINE_DEFAULT_NOTIFIED_EVENTS = ["issue_added", "issue_updated"]
# The sweep's fire-once markers travel in this issue field, set in the same PUT (journal) as the
# sweep's note: only support roles (and administrators) see it, so clients neither read nor write it.
MARKER_FIELD = "helpdesk: отметка сценария"

_BODY = r"""
changed = []
marker = nil
live = false
ActiveRecord::Base.transaction do
save = lambda do |record, label|
  if record.new_record? || record.changed?
    changed << label
    record.save!
  end
  record
end

statuses = {}
PAYLOAD['statuses'].each_with_index do |spec, index|
  status = IssueStatus.find_or_initialize_by(name: spec['name'])
  status.is_closed = spec['closed']
  statuses[spec['name']] = save.call(status, "status #{spec['name']}")
end

trackers = {}
PAYLOAD['trackers'].each do |spec|
  tracker = Tracker.find_or_initialize_by(name: spec['name'])
  tracker.default_status = statuses.fetch(spec['default_status'])
  tracker.description = spec['description']
  trackers[spec['name']] = save.call(tracker, "tracker #{spec['name']}")
end

[[IssuePriority, 'priorities', 'priority'], [TimeEntryActivity, 'activities', 'activity']].each do |klass, key, label|
  PAYLOAD[key].each do |spec|
    value = klass.find_or_initialize_by(name: spec['name'], project_id: nil)
    value.active = true
    value.is_default = spec['default']
    save.call(value, "#{label} #{spec['name']}")
  end
end

# Only the regulation's priorities are offered: Redmine's default data adds others
# (Нормальный, Срочный, Немедленный) that no SLA budget covers. Issues keep theirs.
wanted_priorities = PAYLOAD['priorities'].map { |spec| spec['name'] }
IssuePriority.where(project_id: nil, active: true).where.not(name: wanted_priorities).each do |extra|
  extra.active = false
  save.call(extra, "priority #{extra.name} deactivated")
end

PAYLOAD['custom_fields'].each do |spec|
  field = IssueCustomField.find_or_initialize_by(name: spec['name'])
  field.field_format = spec['format'] if field.new_record?
  field.is_filter = spec['filter']
  field.searchable = spec['searchable']
  field.is_for_all = true
  field.visible = true
  field.default_value = spec['default_value'] if spec.key?('default_value')
  field.edit_tag_style = 'check_box' if spec['format'] == 'bool'  # one click, not a drop-down
  wanted = spec['trackers'].map { |name| trackers.fetch(name).id }.sort
  if field.tracker_ids.sort != wanted
    field.tracker_ids = wanted
    changed << "custom field #{spec['name']} trackers" unless field.new_record?
  end
  save.call(field, "custom field #{spec['name']}")
end

# Project and user fields are the migration's recognition keys: only administrators set them.
# A project field stays hidden from non-admins; a user field must be "visible" for REST to return
# it at all, and is never editable by the user (a client cannot make their account "ours").
[[ProjectCustomField, 'project_fields', 'project field', false],
 [UserCustomField, 'user_fields', 'user field', true]].each do |klass, key, label, visible|
  PAYLOAD[key].each do |spec|
    field = klass.find_or_initialize_by(name: spec['name'])
    field.field_format = spec['format'] if field.new_record?
    field.visible = visible
    field.editable = false if field.respond_to?(:editable=)
    save.call(field, "#{label} #{spec['name']}")
  end
end

roles = {}
PAYLOAD['roles'].each do |key, spec|
  role = Role.find_or_initialize_by(name: spec['name'])
  role.issues_visibility = spec['issues_visibility']
  role.users_visibility = 'members_of_visible_projects'
  role.time_entries_visibility = 'all'
  role.assignable = spec['assignable']
  wanted = spec['permissions'].map(&:to_sym).sort
  if role.permissions.map(&:to_sym).sort != wanted
    role.permissions = wanted
    changed << "role #{spec['name']} permissions" unless role.new_record?
  end
  roles[key] = save.call(role, "role #{spec['name']}")
end

# The sweep's marker field: on every tracker and project, visible to the support role only (a
# client can neither see nor write it: its values in the sweep's journals are unforgeable).
sweep_field = IssueCustomField.find_or_initialize_by(name: PAYLOAD['sweep_marker_field'])
sweep_field.field_format = 'string' if sweep_field.new_record?
sweep_field.is_for_all = true
sweep_field.is_filter = false
sweep_field.searchable = false
sweep_field.visible = false
sweep_field.description = 'helpdesk: the sweep marks what it did here (fire-once), out of the notes clients read'
wanted_roles = [roles.fetch('support').id]
wanted_trackers = trackers.values.map(&:id).sort
if !sweep_field.new_record? &&
   (sweep_field.role_ids.sort != wanted_roles || sweep_field.tracker_ids.sort != wanted_trackers)
  changed << "custom field #{sweep_field.name} roles/trackers"
end
sweep_field.role_ids = wanted_roles
sweep_field.tracker_ids = wanted_trackers
save.call(sweep_field, "custom field #{sweep_field.name}")

# The time entry fields (the portal id of an entry the migration logged): visible to the support role
# only, as the sweep's marker field (Redmine 5.0 honours a TimeEntryCustomField's roles in the time
# list, its CSV, filters and the REST list), not a filter, never required. Administrators see every
# field: the migration reads and writes it as the API user.
PAYLOAD['time_entry_fields'].each do |spec|
  field = TimeEntryCustomField.find_or_initialize_by(name: spec['name'])
  field.field_format = spec['format'] if field.new_record?
  field.visible = false
  field.is_filter = false
  field.is_required = false
  field.description = 'helpdesk: the portal id of a migrated time entry (re-runs recognise it), hidden from clients'
  if !field.new_record? && field.role_ids.sort != wanted_roles
    changed << "time entry field #{spec['name']} roles"
  end
  field.role_ids = wanted_roles
  save.call(field, "time entry field #{spec['name']}")
end

{'non_member' => Role.non_member, 'anonymous' => Role.anonymous}.each do |key, role|
  wanted = PAYLOAD['builtin_roles'][key].map(&:to_sym).sort
  next if role.permissions.map(&:to_sym).sort == wanted
  role.permissions = wanted
  role.save!
  changed << "built-in role #{key} permissions"
end

group = Group.find_or_initialize_by(lastname: PAYLOAD['support_group'])
save.call(group, "group #{PAYLOAD['support_group']}")

PAYLOAD['workflow'].each do |key, transitions|
  role = roles.fetch(key)
  wanted = transitions.map do |t, old, new|
    [trackers.fetch(t).id, statuses.fetch(old).id, statuses.fetch(new).id]
  end
  tracker_ids = trackers.values.map(&:id)
  existing = WorkflowTransition.where(role_id: role.id, tracker_id: tracker_ids)
  have = existing.map { |w| [w.tracker_id, w.old_status_id, w.new_status_id] }
  existing.each do |w|
    next if w.old_status_id == 0 || wanted.include?([w.tracker_id, w.old_status_id, w.new_status_id])
    w.destroy
    changed << "workflow #{role.name}: removed #{w.tracker_id}/#{w.old_status_id}->#{w.new_status_id}"
  end
  (wanted - have).each do |tracker_id, old_id, new_id|
    WorkflowTransition.create!(role_id: role.id, tracker_id: tracker_id, old_status_id: old_id,
                               new_status_id: new_id)
  end
  changed << "workflow #{role.name}: added #{(wanted - have).size} transitions" unless (wanted - have).empty?
end

# Clients may tick the complaint button on their company's issues (the bundled mappings give the
# client role edit_issues: a colleague of the author may press it too; edit_own_issues instead
# keeps it to the author) and nothing else: every field is read-only for them except where the
# payload says (field permissions), and clients have no status transition.
client_role = roles.fetch('client')
# Live (notifications on, after this run): the migration's fields are locked in the first status too.
live = if PAYLOAD['settings'].key?('notified_events')
         PAYLOAD['settings']['notified_events'].any?
       else
         Setting.notified_events.reject(&:blank?).any?
       end
ro_rows = PAYLOAD['client_readonly'] + (live ? PAYLOAD['client_readonly_live'] : [])
wanted_ro = ro_rows.map do |tracker, status, field, is_cf|
  [trackers.fetch(tracker).id, statuses.fetch(status).id,
   is_cf ? IssueCustomField.find_by!(name: field).id.to_s : field]
end
existing_ro = WorkflowPermission.where(role_id: client_role.id, tracker_id: trackers.values.map(&:id))
existing_ro.each do |w|
  next if w.rule == 'readonly' && wanted_ro.include?([w.tracker_id, w.old_status_id, w.field_name])
  w.destroy
  changed << "field permission #{client_role.name}: removed #{w.tracker_id}/#{w.old_status_id}/#{w.field_name}"
end
have_ro = existing_ro.select { |w| w.rule == 'readonly' }.map { |w| [w.tracker_id, w.old_status_id, w.field_name] }
missing_ro = wanted_ro - have_ro
missing_ro.each do |tracker_id, status_id, field_name|
  WorkflowPermission.create!(role_id: client_role.id, tracker_id: tracker_id, old_status_id: status_id,
                             field_name: field_name, rule: 'readonly')
end
changed << "field permissions #{client_role.name}: added #{missing_ro.size}" unless missing_ro.empty?

PAYLOAD['settings'].each do |name, value|
  if Setting.send(name) != value
    Setting.send("#{name}=", value)
    changed << "setting #{name}"
  end
end

marker = IssueCustomField.find_or_initialize_by(name: PAYLOAD['marker_field'])
marker.field_format = 'string' if marker.new_record?
# Attached to no tracker and no project: it never shows on an issue.
marker.visible = true
marker.is_for_all = false
marker.tracker_ids = []
marker.description = 'helpdesk: mirrors Setting.notified_events for REST readers (doctor, migrate plan)'
marker.default_value = Setting.notified_events.empty? ? 'off' : 'on'
save.call(marker, "notifications marker #{marker.default_value}")
end

puts JSON.generate({'changed' => changed, 'notifications' => marker.default_value,
                    'migration_fields' => live ? 'locked' : 'open'})
"""


# Redmine's issue fields that a field permission can make read-only (Tracker::CORE_FIELDS_ALL).
CORE_FIELDS = ("project_id", "tracker_id", "subject", "priority_id", "is_private", "assigned_to_id",
               "category_id", "fixed_version_id", "parent_issue_id", "start_date", "due_date",
               "estimated_hours", "done_ratio", "description")


# What a client fills in when creating an issue (regulation: «Тема», «Описание», the priority; the
# portal's module is the category, and the start date is Redmine's own, both written at creation
# by the migration as the client): the only core fields a client may set in the first status.
# The tracker is chosen at creation all the same (Redmine applies these rules once the tracker
# is set), but never changed afterwards (billing: «Обсуждение» is paid); nor the assignee,
# privacy, version, parent, due date, estimate or progress (issue 19.9).
CLIENT_CREATION_CORE_FIELDS = ("subject", "description", "priority_id", "category_id", "start_date")


def client_readonly(mappings: Mappings) -> list[tuple[str, str, str, bool]]:
    """(tracker, status, field, is custom field) the client role may not change, in either mode.

    Redmine applies field permissions of the issue's *current* status, also to a new issue
    (its tracker's default status): there clients keep what they fill in when creating (and,
    in migration mode only, the `client: migration` fields the migration writes as them:
    `client_locked_when_live`); in every later status all is read-only but the
    `client: editable` fields (the complaint button, not on closed issues); `client:
    readonly` fields (free consultation) are read-only everywhere."""
    fields = mappings.custom_fields.by_key().values()
    closed = mappings.closed_statuses
    rows: list[tuple[str, str, str, bool]] = []
    for tracker in mappings.trackers:
        for status in mappings.statuses:
            first = status.name == tracker.default_status
            rows += [(tracker.name, status.name, core, False) for core in CORE_FIELDS
                     if not first or core not in CLIENT_CREATION_CORE_FIELDS]
            for spec in fields:
                editable = spec.client == "editable" and status.name not in closed
                if spec.client == "readonly" or (not first and not editable):
                    rows.append((tracker.name, status.name, spec.name, True))
    return rows


def client_locked_when_live(mappings: Mappings) -> list[tuple[str, str, str, bool]]:
    """The rows going live adds: the `client: migration` fields, read-only in the first status too.

    Why a mode and not «never the client's» (issue 19.9): Redmine 5.0's REST API cannot set an
    issue's author (no `author_id`), so the REST migration creates each issue as its client
    (X-Redmine-Switch-User), and Redmine then applies the *client's* field permissions of the new
    issue's status to everything in that request: a field read-only for clients is silently
    dropped, the portal id included (verify finds nothing; the rails loader, which writes
    natively, would differ). Writing those fields afterwards as the administrator would put a
    journal dated the migration day on every issue (issue 20.12). So while Redmine is in
    migration mode (notifications off, nobody but the migration writes) clients may write them
    in the first status, as the migration writes them, and going live (`provision
    --notifications on`) locks them in every status; `doctor --for live` reports an open one."""
    return [(tracker.name, tracker.default_status, spec.name, True)
            for tracker in mappings.trackers
            for spec in mappings.custom_fields.by_key().values() if spec.client == "migration"]


def provision_payload(mappings: Mappings, notifications: NotificationSwitch = "keep") -> dict[str, Any]:
    """The data the script needs, derived from mappings.yaml only."""
    tracker_names = [t.name for t in mappings.trackers]
    # self_registration "1": account activation by email. A registrant proves the mailbox by the
    # link Redmine mails it (then it is active, in no project) before anyone approves it by its
    # domain (admin/registrations.py); "2" (manual) would prove nothing.
    settings: dict[str, Any] = {"rest_api_enabled": "1", "self_registration": "1",
                                "text_formatting": mappings.settings.text_formatting,
                                "attachment_max_size": str(mappings.settings.attachment_max_size_kb),
                                # what clients read in Redmine (pages, its emails, CSV encoding): Russian
                                "default_language": REDMINE_LANGUAGE}
    if notifications == "off":
        settings["notified_events"] = []
    elif notifications == "on":
        settings["notified_events"] = REDMINE_DEFAULT_NOTIFIED_EVENTS
    return {
        "statuses": [s.model_dump() for s in mappings.statuses],
        "trackers": [t.model_dump() for t in mappings.trackers],
        "priorities": [p.model_dump() for p in mappings.priorities],
        "activities": [a.model_dump() for a in mappings.time_entry_activities],
        "custom_fields": [{**f.model_dump(), "trackers": tracker_names}
                          for f in mappings.custom_fields.by_key().values()],
        "project_fields": [f.model_dump() for f in mappings.project_custom_fields.by_key().values()],
        "user_fields": [f.model_dump() for f in mappings.user_custom_fields.by_key().values()],
        "time_entry_fields": [f.model_dump() for f in mappings.time_entry_custom_fields.by_key().values()],
        "roles": {key: getattr(mappings.roles, key).model_dump() for key in ("client", "support")},
        "support_group": mappings.support_group,
        "builtin_roles": {"non_member": mappings.non_member_permissions,
                          "anonymous": mappings.anonymous_permissions},
        "workflow": {key: sorted(mappings.transitions(key)) for key in ("support", "client")},
        "client_readonly": client_readonly(mappings),
        "client_readonly_live": client_locked_when_live(mappings),
        "settings": settings,
        "marker_field": NOTIFICATIONS_MARKER_FIELD,
        "sweep_marker_field": MARKER_FIELD,
    }


def provision_script(mappings: Mappings, notifications: NotificationSwitch = "keep") -> str:
    """The whole `rails runner` script."""
    return ruby_script(_BODY, provision_payload(mappings, notifications))
