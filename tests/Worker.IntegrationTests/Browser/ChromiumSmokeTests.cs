using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;
using Worker.IntegrationTests.Infrastructure;
using Worker.Simulator;
using static Microsoft.Playwright.Assertions;

namespace Worker.IntegrationTests.Browser;

/// <summary>
/// Whether Chromium and Playwright work on this machine at all, in seconds and without the worker: a page served by
/// Kestrel on loopback, a click, and a fetch back to the server. When this fails, the console tests' failures are the
/// machine's, not the console's.
/// </summary>
public sealed class ChromiumSmokeTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IAsyncLifetime
{
    private const string Page = """
        <!doctype html>
        <html><body>
          <button id="go">Go</button><p id="out"></p>
          <script>
            document.getElementById('go').addEventListener('click', async () => {
              const answer = await fetch('/answer', { headers: { 'X-Smoke': 'yes' } });
              document.getElementById('out').textContent = await answer.text();
              document.getElementById('out').dataset.status = String(answer.status);
            });
          </script>
        </body></html>
        """;

    private WebApplication _site = null!;
    private int _answers;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        _site = builder.Build();
        _site.MapGet("/", () => Results.Content(Page, "text/html"));
        _site.MapGet("/answer", (HttpRequest request) =>
        {
            Interlocked.Increment(ref _answers);
            return Results.Text($"answered {request.Headers["X-Smoke"]}");
        });
        await _site.StartAsync();
    }

    [Fact]
    public async Task Headless_chromium_clicks_a_button_on_a_loopback_page_and_shows_what_the_server_answered()
    {
        await using var session = await chromium.NewPageAsync(_site.GetBaseAddress());

        await session.Page.GotoAsync("/");
        await session.Page.ClickAsync("#go");

        await Expect(session.Page.Locator("#out")).ToHaveTextAsync("answered yes");
        await Expect(session.Page.Locator("#out")).ToHaveAttributeAsync("data-status", "200");
        Assert.Equal(1, Volatile.Read(ref _answers));
        Assert.Equal((1280, 900), (session.Page.ViewportSize!.Width, session.Page.ViewportSize.Height));
    }

    public async Task DisposeAsync()
    {
        await _site.StopAsync();
        await _site.DisposeAsync();
    }
}
