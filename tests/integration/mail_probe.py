"""Redmine's own mail recipients, caught inside `rails runner`: the test delivery method keeps
what Redmine's Mailer would send, so a test reads who Redmine chose without sending mail."""

CATCH_MAIL = """
ActionMailer::Base.delivery_method = :test
ActionMailer::Base.perform_deliveries = true
ActiveJob::Base.queue_adapter = :inline
def caught_recipients
  ActionMailer::Base.deliveries.flat_map { |m| Array(m.to) + Array(m.cc) + Array(m.bcc) }.uniq.sort
end
"""
