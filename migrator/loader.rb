# helpdesk migration loader: run inside Redmine by `rails runner` (helpdesk migrate run --loader rails).
#
# Static code. Every value comes from stdin as one JSON document per line (a whole ticket, planned by the
# Python side); nothing from the export is ever part of this source. One answer per line on stdout
# (JSON), in the order of the input; everything else Redmine or Rails print goes to stderr.
#
# Exactly once: a ticket is one transaction (issue, attachments, notes, time entries, dates), and a ticket
# whose «ID в портале» already is on an issue the tool or the ticket's author wrote is never created again:
# the answer says so and the Python side completes it the REST way (by provenance markers). Several
# loaders may run side by side (--workers N): each ticket goes to one of them.
require 'json'
require 'digest'
require 'time'
require 'zlib'

OUT = STDOUT.dup
OUT.sync = true
STDOUT.reopen(STDERR)
STDIN.set_encoding(Encoding::UTF_8)

ActionMailer::Base.perform_deliveries = false # no email from this process, whatever the global setting
Rails.logger.level = Logger::WARN
ActiveRecord::Base.logger = nil

# Projects, trackers, statuses, priorities and users read once per process: a ticket's many notes and
# the next tickets of the same project reuse them (and the permissions each user object memoises).
CACHE = Hash.new { |h, model| h[model] = {} }

def cached(model, id)
  return nil if id.nil?

  CACHE[model][id] ||= model.find(id)
end

# A project with its trackers and categories loaded: the issue's validation then checks them in memory.
def project_with_lists(id)
  CACHE[Project][id] ||= Project.find(id).tap do |project|
    project.trackers.load
    project.issue_categories.load
  end
end

# An issue's workflow rules for its author (required and read-only fields) depend only on the author's
# roles in the project (all roles for an administrator), the tracker and the status, none of which a
# loader run changes: Redmine reads them twice per issue; this process once per combination.
module LoaderWorkflowRules
  RULES = {}

  def workflow_rule_by_attribute(user = nil)
    return super if user.nil?

    roles = user.admin ? :all : user.roles_for_project(project).map(&:id).sort
    RULES[[roles, tracker_id, status_id]] ||= super
  end

  # Project#assignable_users remembers a query, not its rows: loaded once, the rows are reused.
  def assignable_users
    project&.assignable_users(tracker)&.load
    super
  end
end
Issue.prepend(LoaderWorkflowRules)

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

# The database does not change during a run: asked once, not per ticket.
POSTGRES = ActiveRecord::Base.connection.adapter_name.downcase.include?('postg')

# Two loaders (a killed run's orphan finishing its last ticket, and the re-run) must not both find the
# ticket absent: on PostgreSQL the check and the create hold a lock on the ticket's portal id. SQLite
# serialises writers by itself (the loser's upgrade is "busy", retried, and then sees the issue).
# Returns true when another process held the lock (it may have just written this very ticket).
def lock_ticket(field_id, portal_id)
  return false unless POSTGRES

  key = [field_id.to_i, Zlib.crc32(portal_id.to_s) & 0x7fffffff]
  connection = ActiveRecord::Base.connection
  taken = connection.select_value(ActiveRecord::Base.sanitize_sql_array(['SELECT pg_try_advisory_xact_lock(?, ?)', *key]))
  return false if taken

  connection.execute(ActiveRecord::Base.sanitize_sql_array(['SELECT pg_advisory_xact_lock(?, ?)', *key]))
  true
end

# Loaders of another run still alive (a killed run's orphans finishing the tickets they were given, or a
# second run at the same time) could write a ticket after this process read the list below. Each loader
# holds, for its whole life, a lock named after its run (ARGV[1]); at boot a loader waits until no loader
# of another run is left, up to a minute, and otherwise asks the database for every ticket.
def other_runs_gone?(field_id, run, timeout = 60)
  connection = ActiveRecord::Base.connection
  connection.execute(ActiveRecord::Base.sanitize_sql_array(['SELECT pg_advisory_lock_shared(?)', (field_id << 32) | run]))
  sql = ActiveRecord::Base.sanitize_sql_array(["SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND " \
                                               'objsubid = 1 AND classid = ? AND objid <> ?', field_id, run])
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
  announced = false
  until (alive = connection.select_value(sql).to_i).zero?
    unless announced # the tool shows "helpdesk-loader:" lines to the administrator
      STDERR.puts "helpdesk-loader: waiting up to #{timeout} s for #{alive} loader(s) of another run to end " \
                  '(a killed run still finishing, or a second run at the same time)'
      announced = true
    end
    if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      STDERR.puts 'helpdesk-loader: loaders of another run are still alive: each ticket is looked up in the ' \
                  'database instead (slower)'
      return false
    end

    sleep 0.2
  end
  true
end

# The issues that already carry a portal id, read once at boot. A lookup by value reads every value of
# the field (no index covers it): milliseconds per ticket at 10^4 issues, tens at 10^5. On PostgreSQL,
# with no other run's loader alive, the boot's list plus the ticket lock are exact (a ticket whose lock
# was held is still asked for); on SQLite, or when unsure, every ticket asks the database.
PORTAL_FIELD = ARGV[0] && IssueCustomField.find_by(name: ARGV[0])&.id
RUN = Zlib.crc32(ARGV[1].to_s) & 0x7fffffff
KNOWN = Hash.new { |h, value| h[value] = [] } # portal id => [[issue id, author id], ...]
PRECISE = !(PORTAL_FIELD && ARGV[1] && POSTGRES && other_runs_gone?(PORTAL_FIELD, RUN))

def issues_carrying(field_id, value = nil)
  scope = CustomValue.where(custom_field_id: field_id, customized_type: 'Issue')
  scope = value.nil? ? scope.where.not(value: [nil, '']) : scope.where(value: value)
  scope.joins('INNER JOIN issues ON issues.id = custom_values.customized_id')
       .pluck('custom_values.value', 'issues.id', 'issues.author_id')
end

issues_carrying(PORTAL_FIELD).each { |value, id, author| KNOWN[value] << [id, author] } unless PRECISE

# The ticket's issue: one carrying its portal id and written by the tool or by the ticket's author (the
# Python side names them) — as over REST, an id typed on someone else's issue is not ours.
def existing_issue(field_id, portal_id, contended, authors)
  found = if PRECISE || contended || field_id != PORTAL_FIELD
            issues_carrying(field_id, portal_id).map { |_, id, author| [id, author] }
          else
            KNOWN.fetch(portal_id, [])
          end
  found.select { |_, author| authors.include?(author) }.map(&:first).min
end

# The tool hands each file over as a path (copied out of the export, checked on the way); it is checked
# here again (size and sha256, read in pieces) and Redmine copies it in pieces too: memory stays flat
# however large the files. A file that is not what the tool said fails the ticket (nothing is written).
class FileMismatch < StandardError; end

def save_attachment(issue, spec)
  path = spec['path']
  unless File.file?(path) && File.size(path) == spec['size'] && Digest::SHA256.file(path).hexdigest == spec['sha256']
    raise FileMismatch, "attachment #{spec['filename']}: the file handed over is not the export's (size or sha256)"
  end

  File.open(path, 'rb') do |file|
    attachment = Attachment.new(file: file)
    attachment.filename = spec['filename']
    attachment.content_type = spec['content_type']
    attachment.author_id = spec['author_id']
    attachment.container = issue
    attachment.created_on = moment(spec['created_on'])
    attachment.save!
    attachment
  end
ensure
  GC.start(full_mark: false) # the pieces read are garbage now: collected before the next file, RSS stays flat
end

# A new issue's custom field values as acts_as_customizable starts them (each available field at its
# default, a list for a multiple one), without the CustomValue records it builds alongside (most of the
# cost of a new issue), then the ticket's values through Redmine's own setter (each format's normalisation).
def fill_custom_field_values(issue, values)
  issue.instance_variable_set(:@custom_field_values, issue.available_custom_fields.map do |field|
    start = CustomFieldValue.new
    start.custom_field = field
    start.customized = issue
    start.instance_variable_set(:@value, field.multiple? ? [field.default_value] : field.default_value)
    start.value_was = start.value.dup if start.value
    start
  end)
  issue.custom_field_values = values
end

# Rows Redmine would write for the issue's custom values (one per available field, one per value of a
# multiple field), inserted in one statement: acts_as_customizable saves them one by one, twice.
def insert_custom_values(issue)
  rows = issue.custom_field_values.flat_map do |field_value|
    Array.wrap(field_value.value).presence.then { |values| values || [field_value.value] }.map do |value|
      {customized_type: 'Issue', customized_id: issue.id, custom_field_id: field_value.custom_field_id, value: value}
    end
  end
  CustomValue.insert_all(rows) if rows.any?
end

# A ticket's notes in one statement, their details in another. What Journal#save adds is done here:
# a private note never carries changes (Redmine splits them into a public journal of their own, dated
# like the note), the watcher rule is auto_watch below, and no mail is sent in this process anyway.
def insert_journals(issue, entries, attached)
  rows = []
  details = [] # [row index, detail]
  marker_rows = {}
  entries.each do |entry|
    changes = entry['details'].reject { |name, _, _| name == 'assigned_to_id' && issue.assigned_to_id.nil? }
    # An assignee left out at creation leaves no trace in the timeline either (nor a journal that only carried it).
    next if entry['details'].any? && changes.empty?

    changes = changes.map { |name, old, new| {property: 'attr', prop_key: name, old_value: old&.to_s, value: new&.to_s} }
    entry['attachments'].each do |ref|
      file = attached.fetch(ref)
      changes << {property: 'attachment', prop_key: file.id.to_s, old_value: nil, value: file.filename}
    end
    base = {journalized_id: issue.id, journalized_type: 'Issue', user_id: entry['user_id'],
            created_on: moment(entry['created_on'])}
    private = entry['private'] && entry['notes'].present?
    if private && changes.any?
      rows << base.merge(notes: nil, private_notes: false)
      changes.each { |change| details << [rows.size - 1, change] }
      changes = []
    end
    rows << base.merge(notes: entry['notes'], private_notes: private)
    changes.each { |change| details << [rows.size - 1, change] }
    marker_rows[entry['marker']] = rows.size - 1
  end
  return {} if rows.empty?

  Journal.insert_all(rows)
  # The issue is new and locked by this transaction: its journals, in id order, are exactly these rows.
  ids = Journal.where(journalized_type: 'Issue', journalized_id: issue.id).order(:id).pluck(:id)
  raise ActiveRecord::RecordNotSaved, "expected #{rows.size} journals, found #{ids.size}" if ids.size != rows.size

  JournalDetail.insert_all(details.map { |index, change| change.merge(journal_id: ids[index]) }) if details.any?
  marker_rows.transform_values { |index| ids[index] }
end

# Messages (a refused time entry's reason) in the language Redmine answers the API user in over REST.
def speak_as(user_id)
  user = cached(User, user_id)
  ::I18n.locale = user&.language.presence || Setting.default_language.presence || 'en'
end

def load_ticket(doc)
  speak_as(doc['api_user_id'])
  spec = doc['issue']
  notes = []
  journals = {}
  times = {}
  incomplete = false
  issue = nil
  found = nil
  ActiveRecord::Base.transaction do
    contended = lock_ticket(doc['portal_field'], doc['ticket'])
    found = existing_issue(doc['portal_field'], doc['ticket'], contended, doc['authors'])
    next if found

    project = project_with_lists(spec['project_id'])
    # The tool creates a project's categories as they first appear: the remembered list may be older.
    category = spec['category_id']
    project.issue_categories.reset.load if category && project.issue_categories.none? { |c| c.id == category }
    # Given to the constructor, project, tracker and priority spare Issue's default lookups.
    issue = Issue.new(project: project, tracker: cached(Tracker, spec['tracker_id']),
                      priority: cached(IssuePriority, spec['priority_id']), author: cached(User, spec['author_id']),
                      status: cached(IssueStatus, spec['status_id']))
    issue.notify = false
    issue.subject = spec['subject']
    issue.description = spec['description']
    issue.category_id = category
    issue.assigned_to = cached(Principal, spec['assigned_to_id'])
    fill_custom_field_values(issue, spec['custom_fields'].to_h { |cf| [cf['id'].to_s, cf['value']] })
    issue.created_on = moment(spec['created_on'])
    issue.updated_on = moment(spec['updated_on'])
    # Validated as Redmine validates an issue (the values above included); the custom value rows are then
    # written in one statement instead of one by one.
    issue.define_singleton_method(:save_custom_field_values) { true }
    unless issue.save
      raise ActiveRecord::RecordInvalid, issue unless issue.errors.attribute_names.include?(:assigned_to_id)

      # Over REST the final assignment would be refused; the ticket itself still moves.
      notes << {'category' => 'workflow', 'reason' => "assignee #{spec['assigned_to_id']} may not be assigned " \
                                                      'in this project: left unassigned'}
      issue.assigned_to = nil
      issue.save!
    end
    insert_custom_values(issue)
    attached = {}
    doc['attachments'].each do |att|
      attached[att['ref']] = save_attachment(issue, att)
    end
    journals = insert_journals(issue, doc['journals'], attached)
    auto_watch(issue, doc['journals'].map { |entry| entry['user_id'] })
    doc['time_entries'].each do |entry|
      user = cached(User, entry['user_id'])
      time = TimeEntry.new(project: issue.project, issue: issue, user: user, author: user, hours: entry['hours'], spent_on: entry['spent_on'],
                           activity_id: entry['activity_id'], comments: entry['comments'])
      # The portal id in the support-only field, in the same insert (as REST sends it in the same POST).
      time.custom_field_values = entry['custom_fields']
      # Who logs it was decided by the tool (a client's hours by the API user): a refusal here is the
      # entry's own (as over REST, 422): reported with its reason, logged by nobody else.
      if time.save
        times[entry['id']] = time.id
      else
        notes << {'category' => 'time-entry', 'field' => "time_entries.#{entry['id']}",
                  'reason' => "not logged: #{time.errors.full_messages.join('; ')}"}
        incomplete = true
      end
    end
    # The final status after the timeline's journals; the issue never passes through Redmine's status logic
    # again, so closed_on is the portal's (or none). The start date is set here too: as an attribute it
    # would make the validation read the issue's relations, which a new issue does not have.
    dates = {created_on: moment(spec['created_on']), updated_on: moment(spec['updated_on']),
             status_id: spec['final_status_id'], closed_on: nil}
    dates[:closed_on] = moment(spec['closed_on']) if spec['closed_on']
    dates[:start_date] = spec['start_date'] if spec['start_date']
    Issue.where(id: issue.id).update_all(dates)
  end
  return {'ticket' => doc['ticket'], 'issue' => found, 'existed' => true} if found

  {'ticket' => doc['ticket'], 'issue' => issue.id, 'existed' => false, 'journals' => journals,
   'time_entries' => times, 'notes' => notes, 'incomplete' => incomplete}
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
