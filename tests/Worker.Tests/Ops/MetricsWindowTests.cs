using Worker.Metrics;

namespace Worker.Tests.Ops;

public class MetricsWindowTests
{
    [Theory]
    [InlineData("15m", 15 * 60)]
    [InlineData("1h", 3600)]
    [InlineData("24h", 24 * 3600)]
    [InlineData("7d", 7 * 86400)]
    [InlineData("2H", 2 * 3600)]
    [InlineData("366d", 366 * 86400)]
    public void Accepts_a_number_and_a_unit(string text, int expectedSeconds)
    {
        Assert.True(MetricsWindow.TryParse(text, out var window));
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), window);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("1")]
    [InlineData("0h")]
    [InlineData("-1h")]
    [InlineData("+1h")]
    [InlineData("1.5h")]
    [InlineData(" 1h")]
    [InlineData("1h30m")]
    [InlineData("1w")]
    [InlineData("1s")]
    [InlineData("367d")]
    [InlineData("99999999999d")]
    public void Refuses_anything_else(string? text) => Assert.False(MetricsWindow.TryParse(text, out _));
}
