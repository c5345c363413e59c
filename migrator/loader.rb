# helpdesk migration loader: run inside Redmine by `rails runner` (helpdesk migrate run --loader rails).
#
# Static code. Every value comes from stdin as one JSON document per line (a whole ticket, planned by the
# Python side); nothing from the export is ever part of this source. One answer per line on stdout
# (JSON), in the order of the input; everything else Redmine or Rails print goes to stderr.
#
# Exactly once: a ticket is one transaction (issue, attachments, notes, time entries, dates), and an issue
# that already carries the ticket's «ID в портале» is never created again: the answer says so and the
# Python side completes it the REST way (by provenance markers).
require 'json'
require 'base64'
require 'stringio'
require 'time'
require 'zlib'

OUT = STDOUT.dup
OUT.sync = true
STDOUT.reopen(STDERR)
STDIN.set_encoding(Encoding::UTF_8)

ActionMailer::Base.perform_deliveries = false # no email from this process, whatever the global setting
Rails.logger.level = Logger::WARN
ActiveRecord::Base.logger = nil
# A note's author becomes a watcher once per ticket (below), not once per note: the same rule as
# Journal#add_watcher, which this process does not run for every note.
Journal.skip_callback(:create, :before, :add_watcher)

# Projects, trackers, statuses, priorities and users read once per process: a ticket's many notes and
# the next tickets of the same project reuse them (and the permissions each user object memoises).
CACHE = Hash.new { |h, model| h[model] = {} }

def cached(model, id)
  return nil if id.nil?

  CACHE[model][id] ||= model.find(id)
end

WATCHES = {}

def auto_watch(issue, user_ids)
  rows = []
  user_ids.uniq.each do |id|
    user = cached(User, id)
    watches = WATCHES.fetch([id, issue.project_id]) do
      WATCHES[[id, issue.project_id]] =
        user.allowed_to?(:add_issue_watchers, issue.project) && user.pref.auto_watch_on?('issue_contributed_to')
    end
    rows << {watchable_type: 'Issue', watchable_id: issue.id, user_id: id} if watches
  end
  Watcher.insert_all(rows) if rows.any? # a new issue has no watcher yet
end

def answer(doc)
  OUT.write(JSON.generate(doc) + "\n")
end

def moment(value)
  value && Time.iso8601(value).utc
end

def existing_issue(field_id, portal_id)
  CustomValue.where(custom_field_id: field_id, customized_type: 'Issue', value: portal_id).pluck(:customized_id).min
end

# Two loaders (a killed run's orphan finishing its last ticket, and the re-run) must not both find the
# ticket absent: on PostgreSQL the check and the create hold a lock on the ticket's portal id. SQLite
# serialises writers by itself (the loser's upgrade is "busy", retried, and then sees the issue).
def lock_ticket(field_id, portal_id)
  connection = ActiveRecord::Base.connection
  return unless connection.adapter_name.downcase.include?('postg')

  key = Zlib.crc32(portal_id.to_s) & 0x7fffffff
  connection.execute(ActiveRecord::Base.sanitize_sql_array(['SELECT pg_advisory_xact_lock(?, ?)', field_id.to_i, key]))
end

def save_attachment(issue, spec)
  attachment = Attachment.new(file: StringIO.new(Base64.strict_decode64(spec['content'])))
  attachment.filename = spec['filename']
  attachment.content_type = spec['content_type']
  attachment.author_id = spec['author_id']
  attachment.container = issue
  attachment.created_on = moment(spec['created_on'])
  attachment.save!
  attachment
end

def load_ticket(doc)
  spec = doc['issue']
  notes = []
  journals = {}
  times = {}
  issue = nil
  found = nil
  ActiveRecord::Base.transaction do
    lock_ticket(doc['portal_field'], doc['ticket'])
    found = existing_issue(doc['portal_field'], doc['ticket'])
    next if found

    issue = Issue.new
    issue.notify = false
    project = cached(Project, spec['project_id'])
    # The tool creates a project's categories as they first appear: the remembered list may be older.
    category = spec['category_id']
    project.issue_categories.reset if category && project.issue_categories.none? { |c| c.id == category }
    issue.project = project
    issue.tracker = cached(Tracker, spec['tracker_id'])
    issue.author = cached(User, spec['author_id'])
    issue.status = cached(IssueStatus, spec['status_id'])
    issue.priority = cached(IssuePriority, spec['priority_id'])
    issue.subject = spec['subject']
    issue.description = spec['description']
    issue.category_id = spec['category_id']
    issue.assigned_to_id = spec['assigned_to_id']
    issue.custom_field_values = spec['custom_fields'].to_h { |cf| [cf['id'].to_s, cf['value']] }
    issue.created_on = moment(spec['created_on'])
    issue.updated_on = moment(spec['updated_on'])
    issue.start_date = spec['start_date'] if spec['start_date']
    unless issue.save
      raise ActiveRecord::RecordInvalid, issue unless issue.errors.attribute_names.include?(:assigned_to_id)

      # Over REST the final assignment would be refused; the ticket itself still moves.
      notes << {'category' => 'workflow', 'reason' => "assignee #{spec['assigned_to_id']} may not be assigned " \
                                                      'in this project: left unassigned'}
      issue.assigned_to_id = nil
      issue.save!
    end
    attached = {}
    doc['attachments'].each do |att|
      attached[att['ref']] = save_attachment(issue, att)
    end
    doc['journals'].each do |entry|
      journal = Journal.new(journalized: issue, user: cached(User, entry['user_id']), notes: entry['notes'],
                            private_notes: entry['private'], created_on: moment(entry['created_on']))
      journal.notify = false
      # An assignee left out above leaves no trace in the timeline either (nor a journal that only carried it).
      details = entry['details'].reject { |name, _, _| name == 'assigned_to_id' && issue.assigned_to_id.nil? }
      next if entry['details'].any? && details.empty?

      details.each do |name, old, new|
        journal.details << JournalDetail.new(property: 'attr', prop_key: name, old_value: old&.to_s, value: new&.to_s)
      end
      entry['attachments'].each do |ref|
        file = attached.fetch(ref)
        journal.details << JournalDetail.new(property: 'attachment', prop_key: file.id.to_s, value: file.filename)
      end
      journal.save!
      journals[entry['marker']] = journal.id
    end
    auto_watch(issue, doc['journals'].map { |entry| entry['user_id'] })
    doc['time_entries'].each do |entry|
      user = cached(User, entry['user_id'])
      time = TimeEntry.new(project: issue.project, issue: issue, user: user, author: user, hours: entry['hours'], spent_on: entry['spent_on'],
                           activity_id: entry['activity_id'], comments: entry['comments'])
      unless time.save
        # The user may not log time here (e.g. a client): the hours stay, logged by the API user.
        notes << {'category' => 'authorship', 'reason' => "time entry #{entry['id']}: " \
                                                         "#{time.errors.full_messages.join('; ')}; logged by the API user"}
        time.user_id = time.author_id = doc['api_user_id']
        time.save!
      end
      times[entry['id']] = time.id
    end
    # The final status after the timeline's journals; the issue never passes through Redmine's status logic
    # again, so closed_on is the portal's (or none).
    dates = {created_on: moment(spec['created_on']), updated_on: moment(spec['updated_on']),
             status_id: spec['final_status_id'], closed_on: nil}
    dates[:closed_on] = moment(spec['closed_on']) if spec['closed_on']
    Issue.where(id: issue.id).update_all(dates)
  end
  return {'ticket' => doc['ticket'], 'issue' => found, 'existed' => true} if found

  {'ticket' => doc['ticket'], 'issue' => issue.id, 'existed' => false, 'journals' => journals,
   'time_entries' => times, 'notes' => notes}
end

# Another writer (Puma serving the REST API) may hold the database: SQLite answers "busy" at once rather
# than wait when two transactions upgrade, PostgreSQL may pick this one as a deadlock victim. The ticket's
# transaction was rolled back whole, so it is simply tried again.
RETRYABLE = [ActiveRecord::Deadlocked, ActiveRecord::LockWaitTimeout]
RETRYABLE << SQLite3::BusyException if defined?(SQLite3::BusyException)

def retryable?(error)
  RETRYABLE.any? { |kind| error.is_a?(kind) || error.cause.is_a?(kind) }
end

def load_with_retries(doc)
  attempt = 0
  begin
    load_ticket(doc)
  rescue ActiveRecord::StatementInvalid => e
    raise unless retryable?(e) && (attempt += 1) <= 20
    sleep(0.05 * attempt)
    retry
  end
end

def handle(doc)
  load_with_retries(doc)
rescue ActiveRecord::RecordInvalid => e
  {'ticket' => doc['ticket'], 'error' => e.record.errors.full_messages.join('; '), 'object' => e.record.class.name}
rescue StandardError => e
  {'ticket' => doc['ticket'], 'error' => "#{e.class}: #{e.message}"[0, 500]}
end

begin
  answer({'ready' => true, 'redmine' => Redmine::VERSION.to_s})
  STDIN.each_line do |line|
    next if line.strip.empty?

    # An answer nobody reads (the tool was killed) ends the loader: at most the ticket in hand is written
    # after the tool died, and the next run recognises it by its portal id.
    answer(handle(JSON.parse(line)))
  end
rescue Errno::EPIPE
  exit 1
end
