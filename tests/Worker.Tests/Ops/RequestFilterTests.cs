using Worker.Ops;

namespace Worker.Tests.Ops;

public class RequestFilterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static RequestFilter? Parse(string? status = null, string? provider = null, string? since = null, string? limit = null) =>
        RequestFilter.TryParse(status, provider, since, limit, Now, out _);

    private static Dictionary<string, string[]> Errors(string? status = null, string? provider = null, string? since = null, string? limit = null)
    {
        Assert.Null(RequestFilter.TryParse(status, provider, since, limit, Now, out var errors));
        return errors;
    }

    [Fact]
    public void No_parameters_means_no_filter_and_the_default_limit()
    {
        Assert.Equal(new RequestFilter(null, null, null, 50), Parse());
        Assert.Equal(new RequestFilter(null, null, null, 50), Parse(status: "", provider: "", since: "", limit: ""));
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("50", 50)]
    [InlineData("500", 500)]
    public void Limit_accepts_one_to_five_hundred(string limit, int expected) => Assert.Equal(expected, Parse(limit: limit)!.Limit);

    [Theory]
    [InlineData("0")]
    [InlineData("501")]
    [InlineData("-1")]
    [InlineData("ten")]
    [InlineData("10.5")]
    [InlineData("99999999999")]
    public void A_bad_limit_is_refused_naming_limit(string limit)
    {
        var errors = Errors(limit: limit);
        Assert.Equal(["limit"], errors.Keys);
        Assert.Contains("500", errors["limit"][0]);
    }

    [Theory]
    [InlineData("succeeded")]
    [InlineData("failed")]
    [InlineData("in_progress")]
    [InlineData("parked")]
    public void Status_accepts_the_stored_names(string status) => Assert.Equal(status, Parse(status: status)!.Status);

    [Theory]
    [InlineData("Succeeded")]
    [InlineData("done")]
    public void An_unknown_status_is_refused_listing_the_known_ones(string status)
    {
        var errors = Errors(status: status);
        Assert.Equal(["status"], errors.Keys);
        Assert.Contains("in_progress", errors["status"][0]);
    }

    [Fact]
    public void Since_accepts_a_window_back_from_now() => Assert.Equal(Now.AddHours(-1), Parse(since: "1h")!.Since);

    [Theory]
    [InlineData("2026-11-20T08:30:00Z")]
    [InlineData("2026-11-20T09:30:00+01:00")]
    [InlineData("2026-11-20T08:30:00")]
    public void Since_accepts_an_iso_instant_taking_utc_when_no_offset_is_given(string since)
    {
        var parsed = Parse(since: since)!.Since!.Value;
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 8, 30, 0, TimeSpan.Zero), parsed);
        Assert.Equal(TimeSpan.Zero, parsed.Offset);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("1w")]
    [InlineData("2026-13-01")]
    public void A_bad_since_is_refused_naming_since(string since) => Assert.Equal(["since"], Errors(since: since).Keys);

    [Fact]
    public void A_provider_longer_than_the_column_is_refused() =>
        Assert.Equal(["provider"], Errors(provider: new string('p', 129)).Keys);

    [Fact]
    public void Every_bad_parameter_is_reported_at_once() =>
        Assert.Equal(["limit", "since", "status"], Errors(status: "x", since: "x", limit: "x").Keys.Order());
}
