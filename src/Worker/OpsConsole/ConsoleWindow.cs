namespace Worker.OpsConsole;

/// <summary>
/// The console's look-back windows and their chart buckets: 1h in 1-minute buckets, 24h in 15-minute ones, 7d in
/// 2-hour ones, so every chart has 60 to 96 points whatever the window.
/// </summary>
public sealed record ConsoleWindow(string Name, TimeSpan Span, TimeSpan Bucket)
{
    public const string Default = "1h";

    public const string Help = "one of 1h, 24h, 7d";

    public static readonly IReadOnlyList<ConsoleWindow> All =
    [
        new("1h", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1)),
        new("24h", TimeSpan.FromHours(24), TimeSpan.FromMinutes(15)),
        new("7d", TimeSpan.FromDays(7), TimeSpan.FromHours(2)),
    ];

    /// <summary>The window named <paramref name="text"/>; empty means <see cref="Default"/>. Names are exact (lower case).</summary>
    public static ConsoleWindow? Parse(string? text) =>
        All.FirstOrDefault(w => w.Name == (string.IsNullOrEmpty(text) ? Default : text));
}
