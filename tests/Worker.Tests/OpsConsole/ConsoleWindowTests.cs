using Worker.OpsConsole;

namespace Worker.Tests.OpsConsole;

public class ConsoleWindowTests
{
    [Theory]
    [InlineData("1h", 60, 60)]
    [InlineData("24h", 24 * 60, 15 * 60)]
    [InlineData("7d", 7 * 24 * 60, 2 * 60 * 60)]
    public void Each_window_has_its_span_and_bucket(string name, int spanMinutes, int bucketSeconds)
    {
        var window = ConsoleWindow.Parse(name)!;

        Assert.Equal(name, window.Name);
        Assert.Equal(TimeSpan.FromMinutes(spanMinutes), window.Span);
        Assert.Equal(TimeSpan.FromSeconds(bucketSeconds), window.Bucket);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void No_window_means_the_last_hour(string? text) => Assert.Equal("1h", ConsoleWindow.Parse(text)!.Name);

    [Theory]
    [InlineData("15m")]
    [InlineData("2h")]
    [InlineData("1H")]
    [InlineData("7 d")]
    [InlineData("week")]
    public void Other_windows_are_refused(string text) => Assert.Null(ConsoleWindow.Parse(text));

    [Fact]
    public void Every_window_has_60_to_96_buckets()
    {
        foreach (var w in ConsoleWindow.All)
            Assert.InRange(w.Span / w.Bucket, 60, 96);
    }
}
