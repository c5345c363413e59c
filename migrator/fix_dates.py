"""`migrate fix-dates --ruby`: restore the portal's timestamps the REST API cannot set.

Redmine stamps every issue and journal with the moment of the API call; the sweeps' clocks
(5 days, 1 year) must run from the portal's dates. The ledger recorded them; this script
writes them with `update_all` (no callbacks, no journal of its own). Issues get created_on,
updated_on, closed_on and start_date (the portal's creation day, Moscow time); files their portal
created_on (found by issue, stored name and size). Notes are found
by their provenance marker within their issue: the marker must open the note (client text quoting
it never matches), and exactly one note per marker is touched; more than one is printed under
"ambiguous" and left alone. The status-change journals the migration replays
(migrator.timeline) are found the same way, and only where they are what the migration writes
(migrator.timeline.timeline_journals): the note is that one provenance line and the journal made the
change (a status change; for a `state` line, status, assignee or priority, by an administrator, as the
API user is) — today the line is a private note and the change the public journal Redmine split off
just before it (both are dated), before both were one journal; where a migration read one back,
also by its journal id. Values travel as
base64 JSON (see helpdesk_core.ruby), and setting a value it already has changes nothing.
"""

from __future__ import annotations

from helpdesk_core.ruby import ruby_script
from migrator.ledger import Ledger

_BODY = r"""
require 'time'
TIMELINE_LINE = /\A_\[portal:(?:status|state):[^\]\s]+\] [^\n]*_\z/
TIMELINE_CHANGES = {'status' => %w[status_id], 'state' => %w[status_id assigned_to_id priority_id]}
changed = 0
PAYLOAD['issues'].each do |id, created, updated, closed|
  values = {created_on: Time.iso8601(created).utc, updated_on: Time.iso8601(updated || created).utc}
  values[:closed_on] = Time.iso8601(closed).utc if closed
  # the portal's creation day on the regulation's clock (Moscow), whatever the offset it was written in
  values[:start_date] = Time.iso8601(created).in_time_zone('Europe/Moscow').to_date
  issue = Issue.find_by(id: id)
  next if issue.nil?
  next if values.all? { |k, v| v.is_a?(Date) ? issue.send(k) == v : issue.send(k).to_i == v.to_i }
  Issue.where(id: id).update_all(values)
  changed += 1
end
ambiguous = []
PAYLOAD['notes'].each do |issue_id, marker, created|
  # The marker counts only where the migration puts it: the very start of the note. A note that
  # merely quotes it never matches; two notes that both start with it are reported and left alone.
  # (a comment carries it as a link reference definition, `[portal:comment:M4]: #`, out of sight)
  opening = "_[portal:#{marker}] "
  hidden = "[portal:#{marker}]: #"
  found = Journal.where(journalized_type: 'Issue', journalized_id: issue_id)
                 .where("notes LIKE ? ESCAPE '\\' OR notes LIKE ? ESCAPE '\\'",
                        "#{Journal.sanitize_sql_like(opening)}%", "#{Journal.sanitize_sql_like(hidden)}%")
                 .select do |journal|
                   journal.notes.start_with?(opening) ||
                     journal.notes.match?(/\A#{Regexp.escape(hidden)}\r?\n/)
                 end
  wanted = TIMELINE_CHANGES[marker.split(':', 2).first]
  pairs = {}
  if wanted
    # a timeline line counts only with the journal that made its change (clients change no status): the
    # same journal (before), or, for a private line, the public change journal Redmine split off just before it
    found = found.select do |journal|
      change = journal
      if journal.private_notes && journal.details.none? { |d| d.property == 'attr' }
        before = Journal.where(journalized_type: 'Issue', journalized_id: issue_id).where('id < ?', journal.id)
                        .order(id: :desc).first
        change = before if before && before.user_id == journal.user_id && before.notes.blank?
      end
      made = change.details.select { |d| d.property == 'attr' }.map(&:prop_key)
      ours = journal.notes.strip.match?(TIMELINE_LINE) && (made & wanted).any? &&
             (marker.start_with?('status:') || journal.user&.admin?)
      pairs[journal.id] = change.id if ours && change.id != journal.id
      ours
    end
  end
  if found.size > 1
    ambiguous << {'issue' => issue_id, 'marker' => marker, 'journals' => found.map(&:id).sort}
    next
  end
  journal = found.first
  next if journal.nil?
  [journal.id, pairs[journal.id]].compact.each do |id|
    next if Journal.find(id).created_on.to_i == Time.iso8601(created).to_i
    Journal.where(id: id).update_all(created_on: Time.iso8601(created).utc)
    changed += 1
  end
end
PAYLOAD['journals'].each do |id, created|
  journal = Journal.find_by(id: id)
  next if journal.nil? || journal.created_on.to_i == Time.iso8601(created).to_i
  Journal.where(id: id).update_all(created_on: Time.iso8601(created).utc)
  changed += 1
end
# Files: Redmine stamps an upload with the moment of the call; the portal's time goes on the file of
# that issue with that stored name and size (a note's files belong to its issue too).
PAYLOAD['attachments'].each do |issue_id, filename, filesize, created|
  at = Time.iso8601(created).utc
  Attachment.where(container_type: 'Issue', container_id: issue_id, filename: filename, filesize: filesize)
            .each do |attachment|
    next if attachment.created_on.to_i == at.to_i
    Attachment.where(id: attachment.id).update_all(created_on: at)
    changed += 1
  end
end
summary = {'changed' => changed}
summary['ambiguous'] = ambiguous unless ambiguous.empty?
puts JSON.generate(summary)
"""


def fix_dates_script(ledger: Ledger) -> str:
    issues, journals = [], []
    for kind, redmine_id, created, updated, closed in ledger.dates():
        if kind == "issue" and created:
            issues.append([redmine_id, created, updated, closed])
        elif kind == "journal" and created:
            journals.append([redmine_id, created])
    notes = [[issue_id, marker, created] for issue_id, marker, created in ledger.note_dates()]
    attachments = [list(row) for row in ledger.attachment_dates()]
    return ruby_script(_BODY, {"issues": issues, "journals": journals, "notes": notes, "attachments": attachments})
