using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Worker.ProviderHealth;
using Worker.Providers;

namespace Worker.Tests.ProviderHealth;

public class QuotaTrackerTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 23, 50, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);

    private QuotaTracker Tracker(long requestsPerDay = 0, long tokensPerDay = 0)
    {
        var section = new QuotaSection();
        if (requestsPerDay > 0 || tokensPerDay > 0)
            section["openai"] = new() { ["gpt-4o-mini"] = new DailyQuotaOptions { RequestsPerDay = requestsPerDay, TokensPerDay = tokensPerDay } };
        return new QuotaTracker(Options.Create(section), _time);
    }

    private QuotaReading Reading(long remaining, long limit, TimeSpan reset) =>
        new(_time.GetUtcNow(), new QuotaWindow(remaining, limit, _time.GetUtcNow() + reset), null);

    private static ProviderSuccess Answer(int input = 10, int output = 5) => new("hi", "gpt-4o-mini", input, output, "stop");

    [Fact]
    public void Nothing_known_is_null() => Assert.Null(Tracker().RemainingFraction("openai", "gpt-4o-mini"));

    [Fact]
    public void A_reading_counts_until_its_reset_then_no_longer()
    {
        var tracker = Tracker();
        tracker.Record("openai", "gpt-4o-mini", Answer() with { Quota = Reading(100, 500, TimeSpan.FromSeconds(30)) });

        Assert.Equal(0.2, tracker.RemainingFraction("OpenAI", "gpt-4o-mini")); // provider names ignore case
        Assert.Null(tracker.RemainingFraction("openai", "gpt-4o")); // other models are not touched

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0.2, tracker.RemainingFraction("openai", "gpt-4o-mini"));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(tracker.RemainingFraction("openai", "gpt-4o-mini"));
    }

    [Fact]
    public void The_newest_reading_wins_and_an_older_one_arriving_late_does_not_replace_it()
    {
        var tracker = Tracker();
        var older = Reading(10, 100, TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromSeconds(1));
        tracker.Saw("openai", "gpt-4o-mini", Reading(0, 100, TimeSpan.FromMinutes(1)));
        tracker.Record("openai", "gpt-4o-mini", Answer() with { Quota = older });

        Assert.Equal(0, tracker.RemainingFraction("openai", "gpt-4o-mini"));
    }

    [Fact]
    public void A_window_without_a_reset_is_believed_for_a_minute()
    {
        var tracker = Tracker();
        tracker.Saw("openai", "gpt-4o-mini", new QuotaReading(_time.GetUtcNow(), null, new QuotaWindow(300, 1000, null)));

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0.3, tracker.RemainingFraction("openai", "gpt-4o-mini"));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(tracker.RemainingFraction("openai", "gpt-4o-mini"));
    }

    [Fact]
    public void The_lowest_of_headers_and_daily_quota_wins()
    {
        var tracker = Tracker(requestsPerDay: 100, tokensPerDay: 1000);
        tracker.Refreshed([new DailyUsage(new ProviderModel("openai", "gpt-4o-mini"), 50, 200)], _time.GetUtcNow());
        Assert.Equal(0.5, tracker.RemainingFraction("openai", "gpt-4o-mini")); // requests 50 %, tokens 80 %

        tracker.Saw("openai", "gpt-4o-mini", Reading(10, 100, TimeSpan.FromSeconds(10)));
        Assert.Equal(0.1, tracker.RemainingFraction("openai", "gpt-4o-mini"));

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0.5, tracker.RemainingFraction("openai", "gpt-4o-mini"));
    }

    [Fact]
    public void Own_calls_add_to_the_last_count_until_the_next_one_replaces_it()
    {
        var tracker = Tracker(requestsPerDay: 10, tokensPerDay: 1000);
        tracker.Refreshed([new DailyUsage(new ProviderModel("openai", "gpt-4o-mini"), 4, 100)], _time.GetUtcNow());
        tracker.Record("openai", "gpt-4o-mini", Answer(input: 30, output: 20));
        tracker.Record("openai", "gpt-4o-mini", new ProviderFailure(ErrorClass.Server, "HTTP 503", 503));

        var daily = tracker.StatusOf("openai", "gpt-4o-mini").Daily!;
        Assert.Equal((6, 150), (daily.RequestsUsed, daily.TokensUsed));
        Assert.Equal(0.4, tracker.RemainingFraction("openai", "gpt-4o-mini")!.Value, 6);

        tracker.Refreshed([new DailyUsage(new ProviderModel("openai", "gpt-4o-mini"), 10, 150)], _time.GetUtcNow());
        Assert.Equal(0, tracker.RemainingFraction("openai", "gpt-4o-mini"));
    }

    [Fact]
    public void The_daily_count_starts_again_at_utc_midnight()
    {
        var tracker = Tracker(requestsPerDay: 10);
        tracker.Refreshed([new DailyUsage(new ProviderModel("openai", "gpt-4o-mini"), 10, 0)], _time.GetUtcNow());
        Assert.Equal(0, tracker.RemainingFraction("openai", "gpt-4o-mini"));
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero), tracker.StatusOf("openai", "gpt-4o-mini").Daily!.ResetsAt);

        _time.Advance(TimeSpan.FromMinutes(10)); // 00:00, before any new count
        Assert.Equal(1, tracker.RemainingFraction("openai", "gpt-4o-mini"));
        tracker.Record("openai", "gpt-4o-mini", Answer());
        Assert.Equal(0.9, tracker.RemainingFraction("openai", "gpt-4o-mini")!.Value, 6);
    }

    [Fact]
    public void A_pair_missing_from_the_count_made_no_call_today()
    {
        var tracker = Tracker(requestsPerDay: 10);
        tracker.Record("openai", "gpt-4o-mini", Answer());
        tracker.Refreshed([], _time.GetUtcNow());
        Assert.Equal(0, tracker.StatusOf("openai", "gpt-4o-mini").Daily!.RequestsUsed);
    }

    [Fact]
    public void Quota_low_fires_below_the_threshold_and_names_what_is_left()
    {
        var tracker = Tracker(requestsPerDay: 1000);
        var pair = new ProviderModel("openai", "gpt-4o-mini");
        var options = new ProviderHealthOptions();
        tracker.Saw("openai", "gpt-4o-mini", Reading(100, 500, TimeSpan.FromSeconds(30))); // exactly 20 %: not below
        Assert.Null(AlertRules.QuotaLowAlert(pair, tracker.StatusOf("openai", "gpt-4o-mini"), _time.GetUtcNow(), options));

        tracker.Saw("openai", "gpt-4o-mini", Reading(99, 500, TimeSpan.FromSeconds(30)));
        var alert = AlertRules.QuotaLowAlert(pair, tracker.StatusOf("openai", "gpt-4o-mini"), _time.GetUtcNow(), options);
        Assert.Equal(AlertRules.QuotaLow, alert?.Rule);
        Assert.Contains("requests 99 of 500 left", alert!.Detail);
        Assert.Contains("0 of 1000 requests used today", alert.Detail);

        // The window resets: the rule stops holding, so the alert resolves at the next evaluation.
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(AlertRules.QuotaLowAlert(pair, tracker.StatusOf("openai", "gpt-4o-mini"), _time.GetUtcNow(), options));
        Assert.Null(AlertRules.QuotaLowAlert(pair, tracker.StatusOf("openai", "gpt-4o-mini"), _time.GetUtcNow(),
            new ProviderHealthOptions { Alerts = { QuotaLow = 0 } }));
    }
}
