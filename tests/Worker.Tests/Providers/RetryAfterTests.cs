using Worker.Providers;

namespace Worker.Tests.Providers;

public class RetryAfterTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(null, "20", 20_000)]
    [InlineData(null, "0", 0)]
    [InlineData(null, "1.5", 1_500)]
    [InlineData("1500", "2", 1_500)]
    [InlineData("250.5", null, 250.5)]
    [InlineData(null, "Thu, 01 Jan 2026 12:00:30 GMT", 30_000)]
    [InlineData(null, "Thu, 01 Jan 2026 11:59:00 GMT", 0)]
    public void Headers_give_the_wait(string? retryAfterMs, string? retryAfter, double expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RetryAfter.FromHeaders(retryAfterMs, retryAfter, Now));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(null, "")]
    [InlineData(null, "soon")]
    [InlineData(null, "-5")]
    [InlineData("abc", null)]
    public void Missing_or_unreadable_headers_give_nothing(string? retryAfterMs, string? retryAfter)
    {
        Assert.Null(RetryAfter.FromHeaders(retryAfterMs, retryAfter, Now));
    }

    [Fact]
    public void Absurd_values_are_capped_at_a_day_instead_of_overflowing()
    {
        Assert.Equal(TimeSpan.FromDays(1), RetryAfter.FromHeaders(null, "99999999999999999999", Now));
    }

    [Theory]
    [InlineData("22s", 22_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("0.250s", 250)]
    [InlineData("0s", 0)]
    public void Google_durations_are_read(string value, double expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RetryAfter.FromGoogleDuration(value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("22")]
    [InlineData("s")]
    [InlineData("1m")]
    public void Unreadable_google_durations_give_nothing(string? value)
    {
        Assert.Null(RetryAfter.FromGoogleDuration(value));
    }
}
