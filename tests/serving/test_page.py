"""The web page at `/`, in a real headless browser (Debian's chromium and chromium-driver, driven by
Selenium): classify a review (its probabilities named by the model's labels), continue a prompt, and read the
server's errors as the page shows them."""

import shutil

import pytest

from tests.serving.conftest import running, tf
from zoo.serving import repository
from zoo.serving.limits import Limits

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver (.ci/run installs "
                                "Debian's chromium and chromium-driver)")
REVIEW = "A wonderful, moving film: the cast is superb and the ending had me in tears."


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield driver
    driver.quit()


def model_form(browser, url, name):
    browser.get(url + "/")
    return WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.CSS_SELECTOR, f'section[data-model="{name}"] form'))


def submit(form):
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    return WebDriverWait(form.parent, 60).until(
        lambda b: form.find_element(By.CSS_SELECTOR, ".result[data-state]"))


def test_page_classifies_a_review(server, shipped, browser):
    form = model_form(browser, server[0], "imdb_sentiment_fast")
    form.find_element(By.CSS_SELECTOR, "textarea[name=text]").send_keys(REVIEW)
    result = submit(form)
    want = shipped["imdb_sentiment_fast"].latest.signatures["serving_default"].function(text=tf.constant([REVIEW]))
    assert result.get_attribute("data-state") == "done"
    assert result.find_element(By.CSS_SELECTOR, '[data-output="label"] .value').text == want["label"][0].numpy().decode()
    shown = float(result.find_element(By.CSS_SELECTOR, '[data-output="probability"] .value').text)
    assert shown == pytest.approx(float(want["probability"][0]), abs=1e-4)
    assert result.find_element(By.CSS_SELECTOR, '[data-output="probability"] .fill').get_attribute("style")


def test_page_names_the_probability_bars_by_the_models_labels(server, shipped, browser):
    form = model_form(browser, server[0], "imdb_sentiment_fast")
    form.find_element(By.CSS_SELECTOR, "textarea[name=text]").send_keys(REVIEW)
    result = submit(form)
    want = shipped["imdb_sentiment_fast"].latest.signatures["serving_default"].function(text=tf.constant([REVIEW]))
    bars = result.find_elements(By.CSS_SELECTOR, '[data-output="probabilities"] .bar')
    assert [bar.find_element(By.CSS_SELECTOR, ".name").text for bar in bars] == ["negative", "positive"]
    shown = [float(bar.find_element(By.CSS_SELECTOR, ".value").text) for bar in bars]
    assert shown == pytest.approx(want["probabilities"][0].numpy().tolist(), abs=1e-4)


def test_page_numbers_the_bars_of_a_model_without_label_names(tiny_base, browser):
    with running(repository.load_all([f"tiny={tiny_base}"])) as (url, _):
        form = model_form(browser, url, "tiny")
        form.find_element(By.CSS_SELECTOR, "textarea[name=x]").send_keys("[[0.1, 0.2]]")
        result = submit(form)
        names = [e.text for e in result.find_elements(By.CSS_SELECTOR, '[data-output="y"] .bar .name')]
        values = [e.text for e in result.find_elements(By.CSS_SELECTOR, '[data-output="y"] .bar .value')]
    assert result.get_attribute("data-state") == "done"
    assert (names, values) == (["0", "1"], ["0.2000", "0.4000"])  # version 2: y = 2 * x


def test_page_continues_a_prompt_with_its_temperature_and_seed(server, shipped, browser):
    form = model_form(browser, server[0], "shakespeare_char")
    form.find_element(By.CSS_SELECTOR, "textarea[name=prompt]").send_keys("ROMEO:")
    for name, value in {"length": "60", "temperature": "0.5", "seed": "3"}.items():
        field = form.find_element(By.CSS_SELECTOR, f"input[name={name}]")
        field.clear()
        field.send_keys(value)
    result = submit(form)
    want = shipped["shakespeare_char"].latest.signatures["serving_default"].function(
        prompt=tf.constant("ROMEO:"), length=tf.constant(60), temperature=tf.constant(0.5), seed=tf.constant(3))
    # textContent: the generated text exactly, newlines and spaces included
    assert result.find_element(By.CSS_SELECTOR, '[data-output="text"] .value').get_attribute("textContent") == \
        want["text"].numpy().decode()


def test_page_shows_the_servers_error(shipped, browser):
    with running(shipped, Limits(max_request_bytes=200)) as (url, _):
        form = model_form(browser, url, "imdb_sentiment_fast")
        form.find_element(By.CSS_SELECTOR, "textarea[name=text]").send_keys(REVIEW * 3)
        result = submit(form)
        message = result.find_element(By.CSS_SELECTOR, ".error").text
    assert result.get_attribute("data-state") == "error"
    assert message.startswith("The input is larger than the server accepts: request body larger than the server's "
                              "limit of 200 bytes (--max-request-bytes)")
