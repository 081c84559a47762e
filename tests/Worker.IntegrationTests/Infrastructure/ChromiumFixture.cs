using Microsoft.Playwright;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// One headless Chromium per test class (<c>IClassFixture&lt;ChromiumFixture&gt;</c>), driven by Playwright's bundled
/// node driver (bin/.playwright). The browser is Debian's chromium, started by path: Playwright never downloads one here.
/// Each test takes a fresh context (<see cref="NewPageAsync"/>), so no cookie or sessionStorage leaks between tests.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    /// <summary>Where ops/test.sh installs Debian's chromium; CHROMIUM_PATH overrides it.</summary>
    public const string DefaultPath = "/usr/bin/chromium";

    /// <summary>
    /// The flags the machine needs: root needs --no-sandbox, and without the background-networking flags Chromium's own
    /// connections to Google's hosts are refused by the closed network, many at a time.
    /// </summary>
    private static readonly string[] Flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    /// <summary>The viewport of every page, and so of every screenshot.</summary>
    public static readonly ViewportSize Viewport = new() { Width = 1280, Height = 900 };

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : DefaultPath;

    public async Task InitializeAsync()
    {
        var path = ExecutablePath;
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"Chromium is not at {path}. The browser tests drive Debian's chromium: install it (`apt-get install -y chromium`, " +
                "which ops/test.sh does) or point CHROMIUM_PATH at a Chromium executable.");
        }

        // The driver inherits this: even a stray `install` would not fetch a browser.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        try
        {
            Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = path,
                Headless = true,
                ChromiumSandbox = false,
                Args = Flags,
                Timeout = 60_000,
            });
        }
        catch (PlaywrightException e)
        {
            throw new InvalidOperationException($"Chromium at {path} did not start under Playwright: {e.Message}", e);
        }
    }

    /// <summary>
    /// A page in a context of its own (1280×900, <paramref name="baseUrl"/> for relative navigation); disposing the
    /// session closes the context with everything it stored.
    /// </summary>
    public async Task<BrowserSession> NewPageAsync(Uri baseUrl)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = Viewport, BaseURL = baseUrl.ToString() });
        return new BrowserSession(context, await context.NewPageAsync());
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.CloseAsync();
        _playwright?.Dispose();
    }
}

/// <summary>A browser context and its page, closed together.</summary>
public sealed class BrowserSession(IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IBrowserContext Context { get; } = context;

    public IPage Page { get; } = page;

    public ValueTask DisposeAsync() => new(Context.CloseAsync());
}

/// <summary>
/// Screenshots the README shows, saved under stable names to <c>.run/screenshots/</c> of the repository (found by walking
/// up to Worker.sln; .run/ is not committed), so each run overwrites the last.
/// </summary>
public static class Screenshots
{
    public static string Directory { get; } = Path.Combine(RepositoryRoot(), ".run", "screenshots");

    /// <summary>Saves what <paramref name="page"/> shows now as <paramref name="name"/> (a .png file name) and returns the path.</summary>
    public static async Task<string> TakeAsync(IPage page, string name)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        return path;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException($"No Worker.sln above {AppContext.BaseDirectory}: cannot place .run/screenshots.");
    }
}
