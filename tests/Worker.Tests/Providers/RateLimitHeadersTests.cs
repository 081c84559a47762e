using Worker.Providers;

namespace Worker.Tests.Providers;

public class RateLimitHeadersTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("6m0s", 360_000)]
    [InlineData("1s", 1_000)]
    [InlineData("20ms", 20)]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("59.56s", 59_560)]
    [InlineData(" 2m ", 120_000)]
    [InlineData("1500us", 1.5)]
    [InlineData("30", 30_000)] // a bare number is seconds, as some compatible servers write it
    [InlineData("0s", 0)]
    public void Reads_go_durations(string text, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), RateLimitHeaders.ParseDuration(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("5x")]
    [InlineData("-1s")]
    [InlineData("s")]
    [InlineData("1.2.3s")]
    [InlineData("25h")] // beyond a day is not believed
    [InlineData("Wed, 21 Oct 2026 07:28:00 GMT")]
    public void Rejects_what_is_not_a_duration(string? text) => Assert.Null(RateLimitHeaders.ParseDuration(text));

    [Fact]
    public void Reads_both_windows_with_absolute_resets()
    {
        var headers = new Dictionary<string, string>
        {
            ["x-ratelimit-limit-requests"] = "500",
            ["x-ratelimit-remaining-requests"] = "499",
            ["x-ratelimit-reset-requests"] = "120ms",
            ["x-ratelimit-limit-tokens"] = "30000",
            ["x-ratelimit-remaining-tokens"] = "29000",
            ["x-ratelimit-reset-tokens"] = "2s",
        };

        var reading = RateLimitHeaders.Read(n => headers.GetValueOrDefault(n), Now)!;

        Assert.Equal(new QuotaWindow(499, 500, Now.AddMilliseconds(120)), reading.Requests);
        Assert.Equal(new QuotaWindow(29000, 30000, Now.AddSeconds(2)), reading.Tokens);
        Assert.Equal(Now, reading.At);
        Assert.Equal(0.998, reading.Requests!.Value.Fraction!.Value, 3);
    }

    [Fact]
    public void Odd_values_drop_only_what_they_spoil()
    {
        var headers = new Dictionary<string, string>
        {
            ["x-ratelimit-limit-requests"] = "lots",
            ["x-ratelimit-remaining-requests"] = "0",
            ["x-ratelimit-reset-requests"] = "whenever",
            ["x-ratelimit-limit-tokens"] = "1000",
            ["x-ratelimit-remaining-tokens"] = "-5", // not a count: the window is unknown
        };

        var reading = RateLimitHeaders.Read(n => headers.GetValueOrDefault(n), Now)!;

        Assert.Equal(new QuotaWindow(0, null, null), reading.Requests);
        Assert.Equal(0, reading.Requests!.Value.Fraction); // nothing left is known without a limit
        Assert.Null(reading.Tokens);
    }

    [Fact]
    public void No_headers_is_no_reading() => Assert.Null(RateLimitHeaders.Read(_ => null, Now));

    [Theory]
    [InlineData(250, 1000, 0.25)]
    [InlineData(1200, 1000, 1.0)] // more left than the limit (a raised limit mid-window): full, not above
    [InlineData(5, 0, null)]      // a zero limit measures nothing
    public void Fraction_is_remaining_over_limit(long remaining, long limit, double? expected) =>
        Assert.Equal(expected, new QuotaWindow(remaining, limit, null).Fraction);
}
