"""The weekly retraining DAG as a user meets it in Airflow's UI, in a headless Chromium.

A real Airflow runs ``nova_weekly_retraining`` twice against the stand-in; then the browser signs
in through the simple auth manager's login page, opens the last run in the DAG's grid view, the
``train`` task's extra links, and the retraining history page through the nav's "Nova retraining"
entry. Each view is checked against what the REST API says the run did, and saved as a screenshot
in ``tests/artifacts/``.
"""

from __future__ import annotations

import importlib.util
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait


def load_weekly_glue() -> Any:
    """The weekly DAG's test glue (``seed_inputs``, ``stack_env``, ``FAST``, ...), loaded from its test module."""
    path = Path(__file__).parents[1] / "example_dags" / "test_weekly_retraining.py"
    spec = importlib.util.spec_from_file_location("weekly_retraining_glue", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


weekly = load_weekly_glue()
DAG_ID = weekly.DAG_ID
WAIT = 60  # seconds for any page or element: two cores are shared by Airflow, Chromium and other tests
RAN = {**dict.fromkeys((*weekly.TASKS, "deploy"), "Success"), "keep_deployed": "Skipped"}  # margin -1: deploy
NAV_ENTRY = "Nova retraining"


def test_a_user_follows_two_retraining_runs_in_the_airflow_ui(
    browser: Any, save_page: Any, account: dict[str, str], control: Any, tmp_path: Path
) -> None:
    from airflow_provider_nova.sandbox import rehearsal
    from airflow_provider_nova.sandbox.airflow_stack import AirflowStack

    rehearsal.seed_inputs(account["endpoint_url"])
    control.set_job_seconds(weekly.REAL_AIRFLOW_JOB_SECONDS)
    control.set_bedrock_seconds(weekly.REAL_AIRFLOW_JOB_SECONDS)
    dags = dag_folder(tmp_path)
    env = {**weekly.stack_env(account["endpoint_url"]), **weekly.plugin_env()}  # the plugin: "Nova retraining"
    with AirflowStack(tmp_path / "airflow", dags, env) as stack:
        api = stack.api
        api.wait_for_dag(DAG_ID)
        runs = [api.run_to_end(DAG_ID, weekly.FAST) for _ in range(2)]  # one after the other: two points of history
        assert [state for _, state in runs] == ["success", "success"], [api.task_states(DAG_ID, r) for r, _ in runs]
        run_ids = [run_id for run_id, _ in runs]
        sign_in(browser, stack.url, "admin", stack.password)
        open_run_in_grid(browser, stack.url, run_ids[-1])
        assert run_view_task_states(browser, run_ids[-1]) == RAN
        save_page("run-view")
        train = api.xcom(DAG_ID, run_ids[-1], "train")
        console = f"https://console.aws.amazon.com/sagemaker/home?region={train['region']}#/jobs/{train['job_name']}"
        assert train_job_link(browser, run_ids[-1]) == console
        save_page("train-extra-links")
        open_history(browser, stack.url)
        for run_id in run_ids:
            check_history_row(
                browser, run_id, api.xcom(DAG_ID, run_id, "train"), api.xcom(DAG_ID, run_id, "decide", "scores")
            )
        save_page("retraining-history")


def dag_folder(tmp_path: Path) -> Path:
    """The weekly DAG alone, retrying after 2 s instead of 5 min (see ``rehearsal_dag_copy``)."""
    from airflow_provider_nova.sandbox.airflow_stack import rehearsal_dag_copy

    return rehearsal_dag_copy(weekly.DAGS / "nova_weekly_retraining.py", tmp_path / "dags", 2).parent


def wait(driver: Any, timeout: float = WAIT) -> WebDriverWait[Any]:
    """Polls until a condition holds; React re-renders, so an element found may be gone at the next call."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def click(driver: Any, by: str, selector: str, what: str) -> None:
    """Click the element once it is there and clickable, finding it again when a re-render replaced it."""

    def clicked(driver: Any) -> bool:
        element = driver.find_element(by, selector)
        if not (element.is_displayed() and element.is_enabled()):
            return False
        element.click()
        return True

    wait(driver).until(clicked, f"could not click {what}")


def sign_in(driver: Any, url: str, username: str, password: str) -> None:
    """Through the simple auth manager's login page (``/auth/login``), where the UI sends a visitor."""
    driver.get(url + "/")
    wait(driver).until(ec.presence_of_element_located((By.NAME, "username")), "no login form").send_keys(username)
    assert "/auth/login" in driver.current_url
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=nav-sidebar]")), "not signed in")
    assert "/auth/" not in driver.current_url


def open_run_in_grid(driver: Any, url: str, run_id: str) -> None:
    """The DAG's page, then the run's bar in its grid: the run view with its task instances."""
    driver.get(f"{url}/dags/{DAG_ID}")
    bar = f'[data-run-id="{run_id}"] a[href="/dags/{DAG_ID}/runs/{run_id}/"]'
    click(driver, By.CSS_SELECTOR, bar, f"the bar of {run_id} in the grid")
    wait(driver).until(ec.url_contains(f"/runs/{run_id}"))
    for task_id in RAN:  # the run's column in the grid has a cell for every task
        wait(driver).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, f'[data-testid="grid-{run_id}-{task_id}"]'))
        )


def run_view_task_states(driver: Any, run_id: str) -> dict[str, str]:
    """Task id -> the state badge's text, from the run view's task instance table once it lists every task."""

    def rows(driver: Any) -> dict[str, str] | None:
        states = {}
        for row in driver.find_elements(By.CSS_SELECTOR, "tr:has(> td[data-testid=table-cell-state])"):
            link = row.find_element(By.CSS_SELECTOR, "td[data-testid=table-cell-task_display_name] a")
            assert f"/runs/{run_id}/tasks/" in link.get_attribute("href")
            task_id = link.get_attribute("href").rsplit("/", 1)[-1]
            states[task_id] = (
                row.find_element(By.CSS_SELECTOR, "td[data-testid=table-cell-state]")
                .get_attribute("textContent")
                .strip()
            )
        return states if set(states) >= set(RAN) else None

    return wait(driver).until(rows, "the run view does not list every task")


def train_job_link(driver: Any, run_id: str) -> str:
    """The ``train`` task instance from the run view, its Details tab: the SageMaker training job link's URL."""
    link = f'td[data-testid=table-cell-task_display_name] a[href$="/runs/{run_id}/tasks/train"]'
    click(driver, By.CSS_SELECTOR, link, "train in the run's task instances")
    wait(driver).until(ec.url_contains("/tasks/train"))
    details = f'a[title="Details"][href$="/runs/{run_id}/tasks/train/details"]'  # not the run's own Details tab
    click(driver, By.CSS_SELECTOR, details, "train's Details tab")
    lower = "translate(normalize-space(), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    button = wait(driver).until(
        ec.visibility_of_element_located((By.XPATH, f"//a[{lower}='sagemaker training job']")),
        "no 'SageMaker training job' extra link on train's Details tab",
    )
    return str(button.get_attribute("href"))


def open_history(driver: Any, url: str) -> None:
    """The retraining history page, through the nav's "Nova retraining" entry.

    The UI shows a plugin's page in an iframe at ``/plugin/<route>`` (or opens it when it is external);
    the driver is left in the frame or window that shows the page.
    """
    driver.get(url + "/")
    entry = find_nav_entry(driver)
    before = set(driver.window_handles)
    entry.click()
    opened = set(driver.window_handles) - before
    if opened:
        driver.switch_to.window(opened.pop())
    frame = wait(driver).until(history_shown, f"{NAV_ENTRY} did not show the retraining history page (/nova/history)")
    if frame is not True:
        driver.switch_to.frame(frame)
    wait(driver).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, f'section[data-dag-id="{DAG_ID}"]')),
        f"no section for {DAG_ID} on the retraining history page",
    )


def find_nav_entry(driver: Any) -> Any:
    """The nav's "Nova retraining" entry: a top-level button, or an item of one of the nav's menus.

    The nav shows plugins' entries once it has fetched them, so the top level is waited on first.
    """
    named = f"[normalize-space()='{NAV_ENTRY}' or @title='{NAV_ENTRY}' or @aria-label='{NAV_ENTRY}']"
    try:
        return wait(driver, 20).until(
            ec.element_to_be_clickable((By.XPATH, f"//*[@data-testid='nav-sidebar']//a{named}"))
        )
    except TimeoutException:
        pass  # in a menu (Browse, Admin, Docs, User, or Plugins when there are several)
    for menu in driver.find_elements(By.CSS_SELECTOR, "[data-testid=nav-sidebar] button[aria-haspopup=menu]"):
        menu.click()
        try:
            return wait(driver, 3).until(ec.element_to_be_clickable((By.XPATH, f"//*[@role='menuitem']{named}")))
        except TimeoutException:
            driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    raise AssertionError(f"no {NAV_ENTRY!r} entry in the Airflow UI's nav, at the top or in a menu")


def history_shown(driver: Any) -> Any:
    """The iframe showing ``/nova/history``; True when the window itself shows it; else False (wait on)."""
    for frame in driver.find_elements(By.TAG_NAME, "iframe"):
        if urllib.parse.urlparse(frame.get_attribute("src") or "").path.startswith("/nova/history"):
            return frame
    return urllib.parse.urlparse(driver.current_url).path.startswith("/nova/history")


def check_history_row(driver: Any, run_id: str, train: dict[str, Any], scores: dict[str, Any]) -> None:
    """The run's row: its training job, state, both scores as printed (4 decimals), the decision; its chart point."""
    section = driver.find_element(By.CSS_SELECTOR, f'section[data-dag-id="{DAG_ID}"]')
    row = section.find_element(By.CSS_SELECTOR, f'tr[data-run-id="{run_id}"]')
    cells = {
        cell.get_attribute("data-field"): cell.get_attribute("textContent").strip()
        for cell in row.find_elements(By.CSS_SELECTOR, "td[data-field]")
    }
    assert train["job_name"] in cells["jobs"], cells
    assert (cells["state"], cells["deployed"]) == ("success", "yes" if scores["deploy"] else "no"), cells
    assert (cells["metric-new"], cells["metric-deployed"]) == (f"{scores['new']:.4f}", f"{scores['deployed']:.4f}")
    point = driver.find_element(By.CSS_SELECTOR, f'svg.nova-chart circle[data-run-id="{run_id}"]')
    assert point.get_attribute("data-value") == f"{scores['new']:.4f}"
